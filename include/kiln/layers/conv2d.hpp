#pragma once
// kiln::conv2d<Filters, Kernel, Stride = 1, Padding = 0, Dilation = 1>: a 2-D
// convolution as PyTorch's nn.Conv2d(channels, Filters, Kernel, Stride, Padding,
// Dilation) computes it (a cross-correlation), with a square Kernel x Kernel
// window whose taps lie Dilation apart, on a height x width x channels image
// (layers/image.hpp; a rank-2 input is one channel) with zeros around it
// (layers/padding.hpp: a count on each side, or kiln::same). The output is
// out_height x out_width x Filters, with out = (in + padding - Dilation (Kernel -
// 1) - 1) / Stride + 1, rounded down as PyTorch does.
//
// Weights are stored [kernel row][kernel column][channel][filter] and the bias
// [filter]: a patch of the image is then a vector that multiplies a
// [Kernel * Kernel * channels][Filters] matrix, and every product of the layer
// (kernels/conv.hpp) runs along the filters, contiguous in the weights, in the
// output and in its gradient. PyTorch's Conv2d.weight is [filter][channel][row]
// [column]; the golden-file script converts. Padding and dilation change only
// which inputs a patch reads, never the weights.
//
// Padding is handled where patches are read, never by copying the image: output
// pixels whose patch lies inside the image (all but a frame of them) run exactly
// as without padding; the forward pass gathers the frame's patches, zeros
// included, into a buffer on the stack per tile of rows (kernels/conv.hpp), the
// input gradient skips the padding as it adds, and the weight gradient sums the
// frame in plain loops before the inside's gathered product adds to it.
//
// Like linear, it fuses activations (graph/lowering.hpp): one after it is applied
// as the output is stored, the derivative of one before it is applied to the input
// gradient it computes.
#include "kiln/core/aligned_buffer.hpp"
#include "kiln/core/always_inline.hpp"
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/names.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/graph/layer_view.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/kernels/conv.hpp"
#include "kiln/kernels/gemm.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/conv_patches.hpp"
#include "kiln/layers/image.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/layers/padding.hpp"
#include "kiln/layers/weights_and_bias.hpp"
#include "kiln/optim/gradient_sink.hpp"

#include <algorithm>
#include <string>
#include <type_traits>

namespace kiln {

namespace error {
template <class Layer>
struct conv2d_has_no_filters {
    static void report() {
        static_assert(facts_of_the_error<Layer>,
                      "kiln: conv2d<0, ...> has no filters, so it produces nothing. Fix: give it "
                      "at least one filter, e.g. kiln::conv2d<64, 7>.");
    }
};
} // namespace error

template <std::size_t Filters, std::size_t Kernel, std::size_t Stride = 1, padding Padding = 0,
          std::size_t Dilation = 1>
struct conv2d {
    static constexpr std::size_t filters = Filters;
    static constexpr std::size_t kernel = Kernel;
    static constexpr std::size_t stride = Stride;
    static constexpr padding zero_padding = Padding;
    static constexpr std::size_t dilation = Dilation;
    static std::string name() {
        return convolution_name("conv2d<", Filters, Kernel, Stride, Padding, Dilation);
    }

    // Fusion roles (graph/lowering.hpp), as in linear.
    static constexpr bool has_activation_epilogue = true;
    static constexpr bool absorbs_activation_gradient = true;

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind {
    private:
        using image = image_dims<In>;
        using here = layer<Position, conv2d>;
        using patches = conv_patches<image::height, image::width, image::channels, Kernel, Stride,
                                     Padding, Dilation>;
        using rows_axis = typename patches::rows_axis;
        using columns_axis = typename patches::columns_axis;

    public:
        // One mistake, one error: the network reports the first rule broken.
        using broken_rule = conv2d_rules<here, In, Kernel, Stride, Padding, Dilation, Position,
                                         rule<Filters != 0, error::conv2d_has_no_filters<here>>>;
        static constexpr bool valid = broken_rule::holds;

        using spec = conv2d;
        using in_shape = In;
        static constexpr std::size_t position = Position;
        static constexpr std::size_t height = image::height;
        static constexpr std::size_t width = image::width;
        static constexpr std::size_t channels = image::channels;
        // After a reported mistake, a placeholder output that causes no follow-on errors.
        static constexpr std::size_t out_height = valid ? rows_axis::out : placeholder_image_side;
        static constexpr std::size_t out_width = valid ? columns_axis::out : placeholder_image_side;
        static constexpr std::size_t out_channels = valid ? Filters : 1;
        using out_shape = shape<out_height, out_width, out_channels>;

        static constexpr std::size_t pixels = out_height * out_width; // per example
        static constexpr std::size_t patch = Kernel * Kernel * channels;
        static constexpr std::size_t weight_count = patch * Filters;
        static constexpr std::size_t param_count = weight_count + Filters;
        static constexpr bool is_view = false;
        static constexpr bool passes_gradient = false;
        // Lowering (graph/lowering.hpp), as in linear.
        using applied = applied_activation<conv2d, Next>;
        using absorbed = absorbed_activation<Previous, conv2d>;

        // Within the layer's slice: the weights, then the bias on its own cache line.
        static constexpr std::size_t bias_offset = padded_count(weight_count);
        static constexpr std::size_t storage_size = bias_offset + padded_count(Filters);
        static constexpr std::size_t weight_at(std::size_t row, std::size_t column,
                                               std::size_t channel, std::size_t filter) {
            return ((row * Kernel + column) * channels + channel) * Filters + filter;
        }
        static constexpr std::size_t bias_at(std::size_t filter) { return bias_offset + filter; }
        // PyTorch's [filter][channel][row][column], stored [row][column][channel][filter].
        static constexpr std::array parameter_parts{
            parameter_part{"weight", 0, {Filters, channels, Kernel, Kernel}, {2, 3, 1, 0}},
            parameter_part{"bias", bias_offset, {Filters}}};

    private:
        // Whether some output pixel's patch reaches into the padding.
        static constexpr bool reads_padding = valid && patches::reads_padding;
        static constexpr std::size_t row_stride = patches::row_stride; // one image row in x
        // Values of a patch contiguous in the image: a kernel row, or one tap's channels
        // when dilated.
        static constexpr std::size_t run = !valid          ? 1
                                           : Dilation == 1 ? Kernel * channels
                                                           : channels;
        // Where patch entry k = (kernel row, kernel column, channel) lies from the patch's start.
        static constexpr std::size_t patch_offset(std::size_t k) noexcept {
            if constexpr (Dilation == 1)
                return (k / run) * row_stride + k % run;
            else
                return (k / (Kernel * channels)) * Dilation * row_stride +
                       (k / channels % Kernel) * Dilation * channels + k % channels;
        }
        // Output pixel m, counted over the batch.
        static constexpr std::size_t batch_pixel_offset(std::size_t m) noexcept {
            return (m / pixels) * In::size + patches::pixel_offset(m % pixels);
        }
        // Pixel m's patch (counted over the batch), zeros on the padding, into `to`.
        template <class T>
        static void gather_patch(const T* x, std::size_t m, T* to) noexcept {
            const T* const image_n = x + (m / pixels) * In::size;
            patches::for_patch_entries(
                m % pixels,
                [&](std::size_t k, std::size_t at) { std::copy_n(image_n + at, channels, to + k); },
                [&](std::size_t k, std::size_t count) { std::fill_n(to + k, count, T{0}); });
        }

    public:
        template <class T, class Scheme>
        static void initialize(T* params, rng& random, const Scheme& scheme) {
            weights_and_bias::initialize(params, weight_count, params + bias_offset, Filters, patch,
                                         Kernel * Kernel * Filters, random, scheme);
        }

        static constexpr std::size_t flops_per_example = 2 * pixels * weight_count;

        // y[m] = b + patch(m) W for every output pixel m, the activation after it
        // applied when fused in; without the bias for conv_transpose2d, whose input
        // gradient this is.
        template <class T, bool AddBias = true>
        static void forward(const T* params, const T* x, T* y, std::size_t batch,
                            work_share share = {}) noexcept {
            const T* const bias_values = params + bias_offset;
            const auto [rows, blocks] =
                weights_and_bias::split_by_rows<T, Filters>(batch * pixels, share);
            // Depth: the kernel rows of a patch, and the values of each; dilated, the
            // kernel rows, their taps and each tap's channels.
            using walk = std::conditional_t<Dilation == 1,
                                            kernels::depth_walk<0, Kernel, row_stride, run, 1>,
                                            kernels::depth_walk<Dilation * row_stride, Kernel,
                                                                Dilation * channels, channels, 1>>;
            constexpr std::size_t outer_runs = Dilation == 1 ? 1 : Kernel;
            auto store = [=](std::size_t row, std::size_t column, auto& tile) KILN_ALWAYS_INLINE {
                tile.for_each(
                    [&](std::size_t r, std::size_t c, auto& value, auto lanes) KILN_ALWAYS_INLINE {
                        constexpr std::size_t n = decltype(lanes)::value;
                        auto out = value;
                        if constexpr (AddBias)
                            out += kernels::load_lanes<n>(bias_values + column + c);
                        out = applied::apply(out);
                        kernels::store_lanes<n>(y + (row + r) * Filters + column + c, out);
                    });
            };
            if constexpr (!reads_padding)
                kernels::gather_matmul<T, Filters, walk>(
                    x, params, rows.begin, rows.end,
                    [](std::size_t m) { return batch_pixel_offset(m); }, 0, outer_runs, store,
                    blocks.begin, blocks.end);
            else
                kernels::gather_matmul_padded<T, Filters, walk, patch>(
                    x, params, rows.begin, rows.end,
                    [](std::size_t m) { return patches::inside(m % pixels); },
                    [](std::size_t m) { return batch_pixel_offset(m); },
                    [x](std::size_t m, T* to) { gather_patch(x, m, to); }, 0, outer_runs, store,
                    blocks.begin, blocks.end);
        }

        // dx = the sum, over output pixels m, of dy[m] W^T laid back onto m's patch
        // (what falls on the padding dropped), times the derivative of the
        // activation before when it is fused in (x then holds what that derivative
        // reads). Split by examples, whose patches do not overlap. Runs before
        // backward_params, which may update W.
        //
        // dy[m] W^T is gemm.hpp's register-blocked product, over W^T one block of
        // patch entries at a time: the block is transposed into a small buffer on
        // the stack (filters x 4 registers), so the product runs along patch entries,
        // which are contiguous in dx, and its epilogue adds whole registers to dx.
        template <class T>
        static void backward_input(const T* params, const T* x, const T*, const T* dy, T* dx,
                                   std::size_t batch, work_share share = {}) noexcept {
            constexpr std::size_t block = kernels::tile_registers * simd::width<T>;
            const auto examples = share.rows(batch);
            T* const part = dx + examples.begin * In::size;
            const std::size_t count = (examples.end - examples.begin) * In::size;
            if constexpr (!patches_tile_input) std::fill_n(part, count, T{0});
            alignas(64) T transposed[Filters * block];
            auto pass = [&]<std::size_t Columns>(std::size_t first) {
                for (std::size_t f = 0; f < Filters; ++f)
                    for (std::size_t j = 0; j < Columns; ++j)
                        transposed[f * Columns + j] = params[(first + j) * Filters + f];
                // Example by example: every sum has the same order however the batch is split.
                for (std::size_t n = examples.begin; n < examples.end; ++n)
                    kernels::matmul<T, Columns, Filters, 1>(
                        dy + n * pixels * Filters, transposed, 0, pixels, Filters,
                        [dx_n = dx + n * In::size, x_n = reads_gate ? x + n * In::size : x, first](
                            std::size_t row, std::size_t column, auto& tile) KILN_ALWAYS_INLINE {
                            tile.for_each([&](std::size_t r, std::size_t c, auto& value,
                                              auto lanes) KILN_ALWAYS_INLINE {
                                put_into_pixel<T, decltype(lanes)::value>(
                                    dx_n, x_n, row + r, first + column + c, value);
                            });
                        });
            };
            std::size_t first = 0;
            if constexpr (patch >= block)
                for (; first + block <= patch; first += block)
                    pass.template operator()<block>(first);
            if constexpr (patch % block != 0) pass.template operator()<patch % block>(first);
            if constexpr (!patches_tile_input && reads_gate)
                simd::map(
                    count, part,
                    [](const simd::vec<T>& s, const simd::vec<T>& g) {
                        return absorbed::backward(s, g);
                    },
                    x + examples.begin * In::size, static_cast<const T*>(part));
        }

    private:
        // Whether every input value lies in exactly one patch (a 1 x 1 kernel at
        // stride 1, or windows that tile the image): its gradient is then one
        // product's value, stored once with the absorbed derivative applied, where
        // overlapping patches must zero dx, add to it and apply the derivative after.
        static constexpr bool patches_tile_input =
            valid && !reads_padding && Dilation == 1 && Kernel == Stride &&
            out_height * Stride == height && out_width * Stride == width;

        // The Lanes values of v, patch entries k, k + 1, ..., of output pixel p, into
        // the example's input gradient dx_n: stored once where patches tile the
        // input, added to it where they overlap.
        template <class T, std::size_t Lanes>
        static void put_into_pixel(T* dx_n, [[maybe_unused]] const T* x_n, std::size_t p,
                                   std::size_t k, const simd::vec<T>& v) noexcept {
            if constexpr (patches_tile_input)
                store_to_pixel<T, Lanes>(dx_n, x_n, p, k, v);
            else
                add_to_pixel<T, Lanes>(dx_n, p, k, v);
        }

        // Whether backward_input reads x: for the derivative of an absorbed
        // activation (x is null for conv_transpose2d, whose forward this is).
        static constexpr bool reads_gate = !std::is_same_v<absorbed, no_activation>;

        // Stores the Lanes values of v, patch entries k, k + 1, ..., of output pixel
        // p, as the example's input gradient dx_n, times the derivative of the
        // absorbed activation (read from x_n) when there is one.
        template <class T, std::size_t Lanes>
        static void store_to_pixel(T* dx_n, [[maybe_unused]] const T* x_n, std::size_t p,
                                   std::size_t k, simd::vec<T> v) noexcept {
            const std::size_t start = patches::pixel_offset(p);
            if constexpr (run % simd::width<T> == 0) {
                const std::size_t at = start + patch_offset(k);
                if constexpr (reads_gate)
                    v = absorbed::backward(kernels::load_lanes<Lanes>(x_n + at), v);
                kernels::store_lanes<Lanes>(dx_n + at, v);
            } else {
                if constexpr (reads_gate) {
                    alignas(64) T gates[simd::width<T>]{};
                    for (std::size_t lane = 0; lane < Lanes; ++lane)
                        gates[lane] = x_n[start + patch_offset(k + lane)];
                    v = absorbed::backward(simd::load(gates), v);
                }
                alignas(64) T values[simd::width<T>];
                simd::store(values, v);
                for (std::size_t lane = 0; lane < Lanes; ++lane)
                    dx_n[start + patch_offset(k + lane)] = values[lane];
            }
        }

        // Adds the Lanes values of v, patch entries k, k + 1, ..., of output pixel p
        // to the example's input gradient dx_n. Entries of one run are contiguous in
        // the image, so when a run fills whole registers they go in as one.
        template <class T, std::size_t Lanes>
        static void add_to_pixel(T* dx_n, std::size_t p, std::size_t k,
                                 const simd::vec<T>& v) noexcept {
            if (!reads_padding || patches::inside(p)) {
                T* const patch_start = dx_n + patches::pixel_offset(p);
                if constexpr (run % simd::width<T> == 0) {
                    T* const at = patch_start + patch_offset(k);
                    kernels::store_lanes<Lanes>(at, kernels::load_lanes<Lanes>(at) + v);
                } else {
                    alignas(64) T values[simd::width<T>];
                    simd::store(values, v);
                    for (std::size_t lane = 0; lane < Lanes; ++lane)
                        patch_start[patch_offset(k + lane)] += values[lane];
                }
                return;
            }
            alignas(64) T values[simd::width<T>];
            simd::store(values, v);
            const std::size_t i = p / out_width, j = p % out_width;
            for (std::size_t lane = 0; lane < Lanes; ++lane) {
                const std::size_t entry = k + lane;
                const std::size_t kr = entry / (Kernel * channels);
                const std::size_t kc = entry / channels % Kernel;
                if (rows_axis::tap_inside(i, kr) && columns_axis::tap_inside(j, kc))
                    dx_n[(rows_axis::tap_at(i, kr) * width + columns_axis::tap_at(j, kc)) *
                             channels +
                         entry % channels] += values[lane];
            }
        }

    public:
        // Examples per pass of the weight gradient: their x and dy stay in the
        // gradient's share of L2 (kernels/blocking.hpp) while every tile of W sweeps them.
        template <class T>
        static std::size_t batch_chunk() noexcept {
            return std::max<std::size_t>(1, kernels::blocking_in_use().gradient_l2_bytes /
                                                sizeof(T) / (In::size + pixels * Filters));
        }

        // dW[k] = sum over output pixels m of patch(m)[k] dy[m] (this share's rows of
        // W) and db = sum_m dy[m] (unless conv_transpose2d, which has a bias of its
        // own, asks for W's alone), handed to the sink register by register.
        template <class T, class Sink, bool BiasGradient = true>
        static void backward_params(const T*, T* scratch, const T* x, const T*, const T* dy,
                                    std::size_t batch, Sink& sink, work_share share = {}) noexcept {
            constexpr std::size_t rows = patch + (BiasGradient ? 1 : 0);
            const auto [mine, blocks] = weights_and_bias::split_by_rows<T, Filters>(rows, share);
            weight_gradient(scratch, x, dy, {0, batch}, mine, blocks);
            hand_over_rows(sink, scratch, mine, 1);
        }

        // The same split by examples (layers/layer.hpp, weights_and_bias::example_groups).
        static constexpr std::size_t gradient_partials =
            weights_and_bias::example_groups * storage_size;
        static constexpr bool splits_by_examples(std::size_t batch) noexcept {
            return weights_and_bias::example_split_pays(batch, In::size + pixels * Filters,
                                                        storage_size);
        }

        template <class T, class Sink>
        static void backward_partials(const T* params, T* scratch, const T* x, const T* y,
                                      const T* dy, T* partials, std::size_t batch, Sink& sink,
                                      work_share share) noexcept {
            if (!splits_by_examples(batch))
                return backward_params(params, scratch, x, y, dy, batch, sink, share);
            weights_and_bias::for_groups_of(
                share, batch, [&](std::size_t group, work_share::range examples, work_share rows) {
                    const auto [mine, blocks] =
                        weights_and_bias::split_by_rows<T, Filters>(patch + 1, rows);
                    weight_gradient(partials + group * storage_size, x, dy, examples, mine, blocks);
                });
        }

        template <class T, class Sink>
        static void combine_partials(const T* partials, std::size_t batch, Sink& sink,
                                     work_share share) noexcept {
            if (splits_by_examples(batch))
                hand_over_rows(sink, partials, share.rows(patch + 1),
                               weights_and_bias::example_groups);
        }

    private:
        // Whether rows `mine` of [dW; db] hold db, row `patch` (an empty range past
        // the end does not).
        static constexpr bool holds_bias(work_share::range mine) noexcept {
            return mine.begin <= patch && patch < mine.end;
        }

        // Hands rows `mine` of [dW; db], laid out as the layer's slice at `sums`, to the
        // sink: the sum of `parts` such slices, storage_size apart, added in order.
        template <class T, class Sink>
        static void hand_over_rows(Sink& sink, const T* sums, work_share::range mine,
                                   std::size_t parts) noexcept {
            const std::size_t weights_end = std::min(mine.end, patch);
            if (mine.begin < weights_end)
                hand_over(sink, mine.begin * Filters, sums + mine.begin * Filters,
                          (weights_end - mine.begin) * Filters, parts, storage_size);
            if (holds_bias(mine))
                hand_over(sink, bias_offset, sums + bias_offset, Filters, parts, storage_size);
        }

        // Rows `mine` of [dW; db] summed over the examples `examples` into `sums`, laid
        // out as the layer's slice: one product for every sink (a fused optimizer's
        // update in each tile's epilogue compiled the products once more for it).
        // Row `patch` is db, the product of a row of ones with dy, summed over the
        // chunks of dy that W's rows read while they are in cache.
        template <class T>
        static void weight_gradient(T* sums, const T* x, const T* dy, work_share::range examples,
                                    work_share::range mine, work_share::range blocks) noexcept {
            const std::size_t weights_end = std::min(mine.end, patch);
            const work_share::range weight_rows{std::min(mine.begin, weights_end), weights_end};
            const bool sums_bias = holds_bias(mine);
            // Depth: the output pixels that read no padding (all of them when the
            // layer does not pad), example by example, output row by output row.
            constexpr std::size_t inside_rows = rows_axis::inside_end - rows_axis::inside_begin;
            constexpr std::size_t inside_columns =
                columns_axis::inside_end - columns_axis::inside_begin;
            using pixel_walk =
                kernels::depth_walk<In::size, inside_rows, Stride * row_stride, inside_columns,
                                    Stride * channels, pixels, out_width>;
            constexpr std::size_t first_inside =
                rows_axis::inside_begin * out_width + columns_axis::inside_begin;
            // The frame's sums first, for the chunks below to add to.
            if constexpr (reads_padding)
                frame_weight_gradient(sums, x, dy, examples, weight_rows, sums_bias);
            if constexpr (inside_rows != 0 && inside_columns != 0) {
                // Chunks of examples, each adding its sums to the last's (the first
                // storing, unless the frame's are there).
                typename store_gradients<T>::slice_sink unused{sums};
                const std::size_t chunk = batch_chunk<T>();
                for (std::size_t first = examples.begin; first < examples.end; first += chunk) {
                    const std::size_t count = std::min(chunk, examples.end - first);
                    const bool first_chunk = first == examples.begin && !reads_padding;
                    const T* const dy_inside = dy + first_inside * Filters;
                    kernels::gather_matmul<T, Filters, pixel_walk>(
                        x, dy_inside, weight_rows.begin, weight_rows.end,
                        [](std::size_t k) {
                            return patch_offset(k) + patches::pixel_offset(first_inside);
                        },
                        first, first + count,
                        weights_and_bias::gradient_chunk<Filters>(sums, unused, first_chunk, false),
                        blocks.begin, blocks.end);
                    if (sums_bias)
                        kernels::gather_column_sums<T, Filters, pixel_walk>(
                            dy_inside, first, first + count,
                            weights_and_bias::gradient_chunk<Filters>(sums, unused, first_chunk,
                                                                      false, bias_offset),
                            blocks.begin, blocks.end);
                }
            }
        }

        // Rows `mine` of dW, and db when `bias`, summed over the output pixels of
        // `examples` that read padding, into `sums`: plain loops along the filters
        // (the frame is a small part of the pixels of any image worth padding).
        template <class T>
        static void frame_weight_gradient(T* sums, const T* x, const T* dy,
                                          work_share::range examples, work_share::range mine,
                                          bool bias) noexcept {
            std::fill(sums + mine.begin * Filters, sums + mine.end * Filters, T{0});
            T* const db = sums + bias_offset;
            if (bias) std::fill_n(db, Filters, T{0});
            for (std::size_t n = examples.begin; n < examples.end; ++n)
                for (std::size_t p = 0; p < pixels; ++p) {
                    if (patches::inside(p)) continue;
                    const T* const g = dy + (n * pixels + p) * Filters;
                    const T* const image_n = x + n * In::size;
                    if (bias)
                        for (std::size_t f = 0; f < Filters; ++f)
                            db[f] += g[f];
                    patches::for_patch_entries(
                        p,
                        [&](std::size_t first, std::size_t at) {
                            for (std::size_t c = 0; c < channels; ++c) {
                                const std::size_t k = first + c;
                                if (k < mine.begin || k >= mine.end) continue;
                                const T value = image_n[at + c];
                                T* const dw = sums + k * Filters;
                                for (std::size_t f = 0; f < Filters; ++f)
                                    dw[f] += value * g[f];
                            }
                        },
                        [](std::size_t, std::size_t) {});
                }
        }
    };
};

} // namespace kiln
