#pragma once
// kiln::conv2d<Filters, Kernel, Stride = 1>: a 2-D convolution as PyTorch's
// nn.Conv2d computes it (a cross-correlation), with a square Kernel x Kernel
// window, valid padding and the given stride, on a height x width x channels
// image (layers/image.hpp; a rank-2 input is one channel). The output is
// out_height x out_width x Filters, with out = (in - Kernel) / Stride + 1, rounded
// down as PyTorch does.
//
// Weights are stored [kernel row][kernel column][channel][filter] and the bias
// [filter]: a patch of the image is then a vector that multiplies a
// [Kernel * Kernel * channels][Filters] matrix, and every product of the layer
// (kernels/conv.hpp) runs along the filters, contiguous in the weights, in the
// output and in its gradient. PyTorch's Conv2d.weight is [filter][channel][row]
// [column]; the golden-file script converts.
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
#include "kiln/layers/image.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/layers/weights_and_bias.hpp"

#include <algorithm>
#include <string>
#include <type_traits>

namespace kiln {

namespace error {
template <class Layer, class Got, class Needs>
struct kernel_larger_than_input {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: conv2d's kernel 'Needs' (height x width) is larger than the image "
                      "'Got' it receives, so with valid padding it has no place to go. Fix: use a "
                      "smaller kernel, remove a layer that shrinks the image before it (a "
                      "kiln::max_pool2d), or feed it a larger image.");
    }
};
template <class Layer>
struct conv2d_has_no_filters {
    static void report() {
        static_assert(facts_of_the_error<Layer>,
                      "kiln: conv2d<0, ...> has no filters, so it produces nothing. Fix: give it "
                      "at least one filter, e.g. kiln::conv2d<64, 7>.");
    }
};
} // namespace error

template <std::size_t Filters, std::size_t Kernel, std::size_t Stride = 1>
struct conv2d {
    static constexpr std::size_t filters = Filters;
    static constexpr std::size_t kernel = Kernel;
    static constexpr std::size_t stride = Stride;
    static std::string name() {
        return Stride != 1 ? bracketed("conv2d<", {Filters, Kernel, Stride}, ">")
                           : bracketed("conv2d<", {Filters, Kernel}, ">");
    }

    // Fusion roles (graph/lowering.hpp), as in linear.
    static constexpr bool has_activation_epilogue = true;
    static constexpr bool absorbs_activation_gradient = true;

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind {
    private:
        using image = image_dims<In>;
        using here = layer<Position, conv2d>;
        using kernel_window = window<Kernel, Kernel>;
        static constexpr bool sizes_nonzero = Kernel != 0 && Stride != 0;
        static constexpr bool kernel_fits = Kernel <= image::height && Kernel <= image::width;

    public:
        // One mistake, one error: the network reports the first rule broken.
        using broken_rule = first_broken<
            rule<image::is_image, error::layer_needs_an_image<here, In>>,
            rule<Filters != 0, error::conv2d_has_no_filters<here>>,
            rule<sizes_nonzero, error::window_size_is_zero<here>>,
            rule<!channels_first<In, Kernel, Position>::likely,
                 error::image_written_channels_first<
                     here, In, typename channels_first<In, Kernel, Position>::channels_last>>,
            rule<kernel_fits, error::kernel_larger_than_input<here, In, kernel_window>>>;
        static constexpr bool valid = broken_rule::holds;

        using spec = conv2d;
        using in_shape = In;
        static constexpr std::size_t position = Position;
        static constexpr std::size_t height = image::height;
        static constexpr std::size_t width = image::width;
        static constexpr std::size_t channels = image::channels;
        // After a reported mistake, a placeholder output that causes no follow-on errors.
        static constexpr std::size_t out_height =
            valid ? (height - Kernel) / Stride + 1 : placeholder_image_side;
        static constexpr std::size_t out_width =
            valid ? (width - Kernel) / Stride + 1 : placeholder_image_side;
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
        static constexpr std::size_t row_stride = width * channels;       // one image row in x
        static constexpr std::size_t run = valid ? Kernel * channels : 1; // a kernel row of a patch

        // Where output pixel p of an example starts its patch in the example's image.
        static constexpr std::size_t pixel_offset(std::size_t p) noexcept {
            return (p / out_width) * Stride * row_stride + (p % out_width) * Stride * channels;
        }
        // Where patch entry k = (kernel row, kernel column, channel) lies from the patch's start.
        static constexpr std::size_t patch_offset(std::size_t k) noexcept {
            return (k / run) * row_stride + k % run;
        }
        // Output pixel m, counted over the batch.
        static constexpr std::size_t batch_pixel_offset(std::size_t m) noexcept {
            return (m / pixels) * In::size + pixel_offset(m % pixels);
        }

    public:
        template <class T, class Scheme>
        static void initialize(T* params, rng& random, const Scheme& scheme) {
            weights_and_bias::initialize(params, weight_count, params + bias_offset, Filters, patch,
                                         Kernel * Kernel * Filters, random, scheme);
        }

        static constexpr std::size_t flops_per_example = 2 * pixels * weight_count;

        // y[m] = b + patch(m) W for every output pixel m, the activation after it
        // applied when fused in.
        template <class T>
        static void forward(const T* params, const T* x, T* y, std::size_t batch,
                            work_share share = {}) noexcept {
            const T* const bias_values = params + bias_offset;
            const auto [rows, blocks] =
                weights_and_bias::split_by_rows<T, Filters>(batch * pixels, share);
            // Depth: the kernel rows of a patch, and the values of each.
            using walk = kernels::depth_walk<0, Kernel, row_stride, run, 1>;
            kernels::gather_matmul<T, Filters, walk>(
                x, params, rows.begin, rows.end,
                [](std::size_t m) { return batch_pixel_offset(m); }, 0, 1,
                [=](std::size_t row, std::size_t column, auto& tile) KILN_ALWAYS_INLINE {
                    tile.for_each([&](std::size_t r, std::size_t c, auto& value,
                                      auto lanes) KILN_ALWAYS_INLINE {
                        constexpr std::size_t n = decltype(lanes)::value;
                        auto out = value + kernels::load_lanes<n>(bias_values + column + c);
                        out = applied::apply(out);
                        kernels::store_lanes<n>(y + (row + r) * Filters + column + c, out);
                    });
                },
                blocks.begin, blocks.end);
        }

        // dx = the sum, over output pixels m, of dy[m] W^T laid back onto m's patch,
        // times the derivative of the activation before when it is fused in (x then
        // holds what that derivative reads). Split by examples, whose
        // patches do not overlap. Runs before backward_params, which may update W.
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
            std::fill_n(part, count, T{0});
            alignas(64) T transposed[Filters * block];
            auto pass = [&]<std::size_t Columns>(std::size_t first) {
                for (std::size_t f = 0; f < Filters; ++f)
                    for (std::size_t j = 0; j < Columns; ++j)
                        transposed[f * Columns + j] = params[(first + j) * Filters + f];
                // Example by example: every sum has the same order however the batch is split.
                for (std::size_t n = examples.begin; n < examples.end; ++n)
                    kernels::matmul<T, Columns, Filters, 1>(
                        dy + n * pixels * Filters, transposed, 0, pixels, Filters,
                        [dx_n = dx + n * In::size, first](std::size_t row, std::size_t column,
                                                          auto& tile) KILN_ALWAYS_INLINE {
                            tile.for_each([&](std::size_t r, std::size_t c, auto& value,
                                              auto lanes) KILN_ALWAYS_INLINE {
                                add_to_patch<T, decltype(lanes)::value>(
                                    dx_n + pixel_offset(row + r), first + column + c, value);
                            });
                        });
            };
            std::size_t first = 0;
            if constexpr (patch >= block)
                for (; first + block <= patch; first += block)
                    pass.template operator()<block>(first);
            if constexpr (patch % block != 0) pass.template operator()<patch % block>(first);
            if constexpr (!std::is_same_v<absorbed, no_activation>)
                simd::map(
                    count, part,
                    [](const simd::vec<T>& s, const simd::vec<T>& g) {
                        return absorbed::backward(s, g);
                    },
                    x + examples.begin * In::size, static_cast<const T*>(part));
        }

    private:
        // Adds the Lanes values of v, patch entries k, k + 1, ..., to the patch at
        // `patch_start`. Entries of one kernel row are contiguous in the image, so
        // when a kernel row fills whole registers they go in as one.
        template <class T, std::size_t Lanes>
        static void add_to_patch(T* patch_start, std::size_t k, const simd::vec<T>& v) noexcept {
            if constexpr (run % simd::width<T> == 0) {
                T* const at = patch_start + patch_offset(k);
                kernels::store_lanes<Lanes>(at, kernels::load_lanes<Lanes>(at) + v);
            } else {
                alignas(64) T values[simd::width<T>];
                simd::store(values, v);
                for (std::size_t lane = 0; lane < Lanes; ++lane)
                    patch_start[patch_offset(k + lane)] += values[lane];
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
        // W) and, in share 0, db = sum_m dy[m]; handed to the sink register by register.
        template <class T, class Sink>
        static void backward_params(const T*, T* scratch, const T* x, const T*, const T* dy,
                                    std::size_t batch, Sink& sink, work_share share = {}) noexcept {
            const auto [weight_rows, blocks] =
                weights_and_bias::split_by_rows<T, Filters>(patch, share);
            // Depth: the output pixels, example by example, output row by output row.
            using pixel_walk = kernels::depth_walk<In::size, out_height, Stride * row_stride,
                                                   out_width, Stride * channels>;
            // Chunks of examples: all but the last leave partial sums in scratch (the
            // layer's gradient slice); the last adds them and hands over the total.
            const std::size_t chunk = batch_chunk<T>();
            for (std::size_t first = 0; first < batch; first += chunk) {
                const std::size_t count = std::min(chunk, batch - first);
                const bool first_chunk = first == 0;
                const bool last_chunk = first + count == batch;
                kernels::gather_matmul<T, Filters, pixel_walk>(
                    x, dy, weight_rows.begin, weight_rows.end,
                    [](std::size_t k) { return patch_offset(k); }, first, first + count,
                    weights_and_bias::gradient_chunk<Filters>(scratch, sink, first_chunk,
                                                              last_chunk),
                    blocks.begin, blocks.end);
            }
            if (share.index == 0)
                weights_and_bias::bias_gradient<T, Filters>(dy, batch * pixels, bias_offset, sink);
        }
    };
};

} // namespace kiln
