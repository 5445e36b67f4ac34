#pragma once
// kiln::depthwise_conv2d<Multiplier, Kernel, Stride = 1, Padding = 0, Dilation = 1>:
// each channel convolved on its own with Multiplier Kernel x Kernel filters, as
// PyTorch's nn.Conv2d(C, C * Multiplier, Kernel, Stride, Padding, Dilation,
// groups = C) computes it. A height x width x C image (layers/image.hpp) becomes
// out_height x out_width x (C * Multiplier), output channel c * Multiplier + m the
// m-th filter of channel c (PyTorch's order), with out as conv2d's (the padding,
// stride and dilation rules and the patches are conv2d's: layers/conv_patches.hpp).
//
// Weights are stored [kernel row][kernel column][output channel] and the bias
// [output channel]: every tap of a pixel is then a multiply-add along the output
// channels, contiguous in the weights, the image (when Multiplier is 1) and the
// output. PyTorch's weight is [C * Multiplier][1][row][column]; the exchange
// (graph/parameter_table.hpp) converts.
//
// There is no product here: a patch meets C * Multiplier weights, not a matrix,
// so each output pixel is a direct loop over its taps, a register of channels at
// a time (bench/depthwise_step measures it against conv2d's product).
// It absorbs the gradient of an activation before it (graph/lowering.hpp), applied
// to an example's input gradient once every tap has added to it, where the example
// is still in cache. It has no epilogue yet: the store after a pixel's last tap is
// where one would go.
#include "kiln/core/always_inline.hpp"
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/names.hpp"
#include "kiln/core/static_for.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/graph/layer_view.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/kernels/gemm.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/conv_patches.hpp"
#include "kiln/layers/image.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/layers/padding.hpp"
#include "kiln/layers/weights_and_bias.hpp"
#include "kiln/optim/gradient_sink.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <type_traits>

namespace kiln {

namespace error {
template <class Layer>
struct depthwise_multiplier_is_zero {
    static void report() {
        static_assert(facts_of_the_error<Layer>,
                      "kiln: depthwise_conv2d<0, ...> gives each channel no filter, so it "
                      "produces nothing. Fix: give it a channel multiplier of at least 1, e.g. "
                      "kiln::depthwise_conv2d<1, 3> (one 3x3 filter per channel).");
    }
};
} // namespace error

template <std::size_t Multiplier, std::size_t Kernel, std::size_t Stride = 1, padding Padding = 0,
          std::size_t Dilation = 1>
struct depthwise_conv2d {
    static constexpr std::size_t multiplier = Multiplier;
    static constexpr std::size_t kernel = Kernel;
    static constexpr std::size_t stride = Stride;
    static constexpr padding zero_padding = Padding;
    static constexpr std::size_t dilation = Dilation;
    // Lowering (graph/lowering.hpp): the derivative of an activation before it is
    // applied to each example's input gradient once its taps are all added.
    static constexpr bool absorbs_activation_gradient = true;
    static std::string name() {
        return convolution_name("depthwise_conv2d<", Multiplier, Kernel, Stride, Padding, Dilation);
    }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind {
    private:
        using image = image_dims<In>;
        using here = layer<Position, depthwise_conv2d>;
        using patches = conv_patches<image::height, image::width, image::channels, Kernel, Stride,
                                     Padding, Dilation>;

    public:
        using broken_rule =
            conv2d_rules<here, In, Kernel, Stride, Padding, Dilation, Position,
                         rule<Multiplier != 0, error::depthwise_multiplier_is_zero<here>>>;
        static constexpr bool valid = broken_rule::holds;

        using spec = depthwise_conv2d;
        using in_shape = In;
        using absorbed = absorbed_activation<Previous, depthwise_conv2d>;
        static constexpr std::size_t position = Position;
        static constexpr std::size_t height = image::height;
        static constexpr std::size_t width = image::width;
        static constexpr std::size_t channels = image::channels;
        // After a reported mistake, a placeholder output that causes no follow-on errors.
        static constexpr std::size_t out_height =
            valid ? patches::out_height : placeholder_image_side;
        static constexpr std::size_t out_width =
            valid ? patches::out_width : placeholder_image_side;
        static constexpr std::size_t out_channels = valid ? channels * Multiplier : 1;
        using out_shape = shape<out_height, out_width, out_channels>;

        static constexpr std::size_t pixels = out_height * out_width; // per example
        static constexpr std::size_t taps = Kernel * Kernel;
        static constexpr std::size_t weight_count = taps * out_channels;
        static constexpr std::size_t param_count = weight_count + out_channels;
        static constexpr bool is_view = false;
        static constexpr bool passes_gradient = false;

        // Within the layer's slice: the weights, then the bias on its own cache line.
        static constexpr std::size_t bias_offset = padded_count(weight_count);
        static constexpr std::size_t storage_size = bias_offset + padded_count(out_channels);
        static constexpr std::size_t weight_at(std::size_t row, std::size_t column,
                                               std::size_t out_channel) {
            return (row * Kernel + column) * out_channels + out_channel;
        }
        // PyTorch's [out channel][1][row][column], stored [row][column][1][out channel].
        static constexpr std::array parameter_parts{
            parameter_part{"weight", 0, {out_channels, 1, Kernel, Kernel}, {2, 3, 1, 0}},
            parameter_part{"bias", bias_offset, {out_channels}}};

        // PyTorch's fans for groups = C: a output reads Kernel^2 inputs, an input
        // reaches Multiplier Kernel^2 outputs.
        template <class T, class Scheme>
        static void initialize(T* params, rng& random, const Scheme& scheme) {
            weights_and_bias::initialize(params, weight_count, params + bias_offset, out_channels,
                                         taps, taps * Multiplier, random, scheme);
        }

        static constexpr std::size_t flops_per_example = 2 * pixels * weight_count;

        // y[p][o] = b[o] + the sum over p's taps t inside the image of x[t][o / M] W[t][o].
        template <class T>
        static void forward(const T* params, const T* x, T* y, std::size_t batch,
                            work_share share = {}) noexcept {
            const auto examples = share.rows(batch);
            for (std::size_t n = examples.begin; n < examples.end; ++n)
                for (std::size_t p = 0; p < pixels; ++p) {
                    T* const out = y + (n * pixels + p) * out_channels;
                    std::copy_n(params + bias_offset, out_channels, out);
                    for_taps_inside(p, [&](std::size_t tap, std::size_t at) {
                        add_products(out, x + n * In::size + at, params + tap * out_channels);
                    });
                }
        }

        // dx[t][c] = the sum over the pixels p whose tap t reads it, and over c's
        // filters o, of dy[p][o] W[t][o]. Split by examples, whose images do not overlap.
        template <class T>
        static void backward_input(const T* params, const T* x, const T*, const T* dy, T* dx,
                                   std::size_t batch, work_share share = {}) noexcept {
            const auto examples = share.rows(batch);
            std::fill(dx + examples.begin * In::size, dx + examples.end * In::size, T{0});
            for (std::size_t n = examples.begin; n < examples.end; ++n) {
                T* const example_dx = dx + n * In::size;
                for (std::size_t p = 0; p < pixels; ++p) {
                    const T* const g = dy + (n * pixels + p) * out_channels;
                    for_taps_inside(p, [&](std::size_t tap, std::size_t at) {
                        add_filter_sums(example_dx + at, g, params + tap * out_channels);
                    });
                }
                if constexpr (!std::is_same_v<absorbed, no_activation>)
                    simd::map(
                        In::size, example_dx,
                        [](const auto& saved, const auto& g) {
                            return absorbed::backward(saved, g);
                        },
                        x + n * In::size, static_cast<const T*>(example_dx));
            }
        }

        // dW[t][o] = the sum over pixels p of x[t of p][o / M] dy[p][o], and db[o] =
        // the sum of dy[p][o], for this share's registers of output channels o, each
        // summed in the same order however the pass is split.
        template <class T, class Sink>
        static void backward_params(const T*, T* scratch, const T* x, const T*, const T* dy,
                                    std::size_t batch, Sink& sink, work_share share = {}) noexcept {
            const auto mine = share.rows(channel_registers<T>);
            sum_examples(scratch, x, dy, {0, batch}, mine);
            hand_over_registers(sink, scratch, mine, 1);
        }

        // The same split by examples (layers/layer.hpp, weights_and_bias::example_groups),
        // where a split by channels has every core read every pixel.
        static constexpr std::size_t gradient_partials =
            weights_and_bias::example_groups * storage_size;
        static constexpr bool splits_by_examples(std::size_t batch) noexcept {
            return weights_and_bias::example_split_pays(batch, In::size + pixels * out_channels,
                                                        storage_size);
        }

        template <class T, class Sink>
        static void backward_partials(const T* params, T* scratch, const T* x, const T* y,
                                      const T* dy, T* partials, std::size_t batch, Sink& sink,
                                      work_share share) noexcept {
            if (!splits_by_examples(batch))
                return backward_params(params, scratch, x, y, dy, batch, sink, share);
            weights_and_bias::for_groups_of(
                share, batch,
                [&](std::size_t group, work_share::range examples, work_share registers) {
                    sum_examples(partials + group * storage_size, x, dy, examples,
                                 registers.rows(channel_registers<T>));
                });
        }

        template <class T, class Sink>
        static void combine_partials(const T* partials, std::size_t batch, Sink& sink,
                                     work_share share) noexcept {
            if (splits_by_examples(batch))
                hand_over_registers(sink, partials, share.rows(channel_registers<T>),
                                    weights_and_bias::example_groups);
        }

    private:
        template <class T>
        static constexpr std::size_t
            channel_registers = (out_channels + simd::width<T> - 1) / simd::width<T>;

        // f.template operator()<Lanes>(first channel) for the registers `mine` of
        // output channels.
        template <class T, class F>
        static void for_registers(work_share::range mine, F&& f) {
            constexpr std::size_t W = simd::width<T>;
            for (std::size_t r = mine.begin; r < mine.end; ++r) {
                if (out_channels % W == 0 || (r + 1) * W <= out_channels)
                    f.template operator()<W>(r * W);
                else
                    f.template operator()<out_channels % W>(r * W);
            }
        }

        // The registers `mine` of [dW; db] summed over the examples `examples` into
        // `sums`, laid out as the layer's slice. Example by example (its x and dy
        // stay in cache while every register of channels sweeps them), the sums of a
        // register of channels for every tap stay in registers while the pixels go
        // by and in `sums` between examples.
        template <class T>
        static void sum_examples(T* sums, const T* x, const T* dy, work_share::range examples,
                                 work_share::range mine) noexcept {
            for (std::size_t n = examples.begin; n < examples.end; ++n)
                for_registers<T>(mine, [&]<std::size_t Lanes>(std::size_t first) {
                    add_example_sums<T, Lanes>(sums, x + n * In::size,
                                               dy + n * pixels * out_channels, first,
                                               n == examples.begin);
                });
        }

        // Hands the registers `mine` of [dW; db], laid out as the layer's slice at
        // `sums`, to the sink: the sum of `parts` such slices, storage_size apart.
        template <class T, class Sink>
        static void hand_over_registers(Sink& sink, const T* sums, work_share::range mine,
                                        std::size_t parts) noexcept {
            for_registers<T>(mine, [&]<std::size_t Lanes>(std::size_t first) {
                for (std::size_t tap = 0; tap < taps; ++tap)
                    hand_over(sink, tap * out_channels + first, sums + tap * out_channels + first,
                              Lanes, parts, storage_size);
                hand_over(sink, bias_offset + first, sums + bias_offset + first, Lanes, parts,
                          storage_size);
            });
        }

        // f(tap, offset of the tap's channels in the example's image) for the taps of
        // output pixel p that lie inside the image: all of them, straight, for a
        // pixel away from the padding; conv2d's patch walk for the frame.
        template <class F>
        static void for_taps_inside(std::size_t p, F&& f) {
            if (!patches::reads_padding || patches::inside(p)) {
                const std::size_t start = patches::pixel_offset(p);
                for (std::size_t row = 0; row < Kernel; ++row)
                    for (std::size_t column = 0; column < Kernel; ++column)
                        f(row * Kernel + column, start + patches::tap_offset(row, column));
                return;
            }
            patches::for_patch_entries(
                p, [&](std::size_t k, std::size_t at) { f(k / channels, at); },
                [](std::size_t, std::size_t) {});
        }

        // One example's share of the sums of output channels first, ..., first +
        // Lanes - 1 in scratch (backward_params), started afresh when `first_example`.
        // The pixels whose taps all lie inside the image add to registers, tap by tap
        // as the code is unrolled; the frame's, tap by tap at run time, to sums of
        // their own, added at the end.
        template <class T, std::size_t Lanes>
        static void add_example_sums(T* scratch, const T* image, const T* dy, std::size_t first,
                                     bool first_example) noexcept {
            const simd::vec<T> zero(T{0});
            simd::vec<T> weight_sums[taps], frame_sums[taps], bias_sum = zero;
            for (std::size_t tap = 0; tap < taps; ++tap) {
                weight_sums[tap] =
                    first_example
                        ? zero
                        : kernels::load_lanes<Lanes>(scratch + tap * out_channels + first);
                frame_sums[tap] = zero;
            }
            if (!first_example)
                bias_sum = kernels::load_lanes<Lanes>(scratch + bias_offset + first);
            for (std::size_t p = 0; p < pixels; ++p) {
                const auto g = kernels::load_lanes<Lanes>(dy + p * out_channels + first);
                bias_sum += g;
                if (!patches::reads_padding || patches::inside(p)) {
                    const T* const start = image + patches::pixel_offset(p);
                    static_for<taps>([&](auto tap) KILN_ALWAYS_INLINE {
                        const T* const at = start + patches::tap_offset(tap / Kernel, tap % Kernel);
                        weight_sums[tap] =
                            simd::fma(inputs_of<T, Lanes>(at, first), g, weight_sums[tap]);
                    });
                } else {
                    for_taps_inside(p, [&](std::size_t tap, std::size_t at) {
                        frame_sums[tap] =
                            simd::fma(inputs_of<T, Lanes>(image + at, first), g, frame_sums[tap]);
                    });
                }
            }
            for (std::size_t tap = 0; tap < taps; ++tap)
                kernels::store_lanes<Lanes>(scratch + tap * out_channels + first,
                                            weight_sums[tap] + frame_sums[tap]);
            kernels::store_lanes<Lanes>(scratch + bias_offset + first, bias_sum);
        }

        // a[o / M] for output channels o = first, ..., first + Lanes - 1 of a tap's
        // channels a, the rest of the register zero.
        template <class T, std::size_t Lanes>
        static simd::vec<T> inputs_of(const T* a, std::size_t first) noexcept {
            if constexpr (Multiplier == 1) {
                return kernels::load_lanes<Lanes>(a + first);
            } else {
                alignas(64) T spread[simd::width<T>] = {};
                for (std::size_t lane = 0; lane < Lanes; ++lane)
                    spread[lane] = a[(first + lane) / Multiplier];
                return simd::load(spread);
            }
        }

        // out[o] += a[o / M] w[o] for every output channel o: a tap's share of a
        // pixel (a = its channels, w = its weights) or of a weight gradient (w = dy).
        template <class T>
        static void add_products(T* out, const T* a, const T* w) noexcept {
            if constexpr (Multiplier == 1)
                simd::map(
                    channels, out,
                    [](const simd::vec<T>& s, const simd::vec<T>& v, const simd::vec<T>& u) {
                        return simd::fma(v, u, s);
                    },
                    static_cast<const T*>(out), a, w);
            else
                for (std::size_t c = 0; c < channels; ++c)
                    for (std::size_t m = 0; m < Multiplier; ++m)
                        out[c * Multiplier + m] += a[c] * w[c * Multiplier + m];
        }

        // dx[c] += the sum over c's filters o of g[o] w[o].
        template <class T>
        static void add_filter_sums(T* dx, const T* g, const T* w) noexcept {
            if constexpr (Multiplier == 1)
                add_products(dx, g, w);
            else
                for (std::size_t c = 0; c < channels; ++c) {
                    T sum{0};
                    for (std::size_t m = 0; m < Multiplier; ++m)
                        sum += g[c * Multiplier + m] * w[c * Multiplier + m];
                    dx[c] += sum;
                }
        }
    };
};

} // namespace kiln
