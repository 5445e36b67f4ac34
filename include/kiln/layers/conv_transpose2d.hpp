#pragma once
// kiln::conv_transpose2d<Filters, Kernel, Stride = 1, Padding = 0, OutputPadding = 0>:
// PyTorch's nn.ConvTranspose2d(channels, Filters, Kernel, Stride, Padding,
// OutputPadding), the layer of small decoders that grows an image: a height x
// width x channels image (layers/image.hpp) becomes out_height x out_width x
// Filters with out = (in - 1) Stride - 2 Padding + Kernel + OutputPadding.
//
// It is conv2d run backwards. Take the conv2d<channels, Kernel, Stride, Padding>
// that maps an out_height x out_width x Filters image to this layer's input
// (`reversed` below): this layer's forward is that conv2d's input gradient, its
// input gradient that conv2d's forward, and its weight gradient that conv2d's
// weight gradient with the roles of image and output gradient exchanged. So the
// three passes are conv2d's own (no arithmetic is written twice); only the bias,
// Filters values added to every output pixel, is this layer's.
//
// Weights are stored as that conv2d stores its own: [kernel row][kernel column]
// [filter][channel]; PyTorch's ConvTranspose2d.weight is [channel][filter][row]
// [column], which is conv2d's [filter][channel][row][column] with the roles
// named the other way, and converts the same way (graph/parameter_table.hpp).
// The bias [filter] follows on its own cache line. Output rows and columns that
// OutputPadding adds and no input reaches hold the bias alone, as in PyTorch.
// Nothing fuses: an activation after it would need conv2d's input gradient to
// grow an epilogue.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/names.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/graph/layer_view.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/conv2d.hpp"
#include "kiln/layers/image.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/layers/weights_and_bias.hpp"

#include <array>
#include <string>

namespace kiln {

namespace error {
template <class Layer>
struct conv_transpose2d_has_no_filters {
    static void report() {
        static_assert(facts_of_the_error<Layer>,
                      "kiln: conv_transpose2d<0, ...> has no filters, so it produces nothing. "
                      "Fix: give it at least one filter, e.g. kiln::conv_transpose2d<16, 2, 2>.");
    }
};
template <class Layer>
struct output_padding_not_below_stride {
    static void report() {
        static_assert(facts_of_the_error<Layer>,
                      "kiln: conv_transpose2d's output padding must be smaller than its stride "
                      "(as PyTorch requires): it adds the rows and columns a stride skips, and "
                      "more would be rows no input reaches. Fix: use an output padding below the "
                      "stride, e.g. kiln::conv_transpose2d<F, 3, 2, 1, 1>.");
    }
};
template <class Layer, class Got>
struct transposed_padding_removes_output {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got>,
                      "kiln: conv_transpose2d's padding removes 2 Padding rows and columns from "
                      "an output of (in - 1) Stride + Kernel + OutputPadding, which leaves none "
                      "for the image 'Got'. Fix: use less padding or a larger kernel.");
    }
};
} // namespace error

template <std::size_t Filters, std::size_t Kernel, std::size_t Stride = 1, std::size_t Padding = 0,
          std::size_t OutputPadding = 0>
struct conv_transpose2d {
    static constexpr std::size_t filters = Filters;
    static constexpr std::size_t kernel = Kernel;
    static constexpr std::size_t stride = Stride;
    static constexpr std::size_t zero_padding = Padding;
    static constexpr std::size_t output_padding = OutputPadding;
    static std::string name() {
        const std::size_t shown = OutputPadding != 0 ? 5 : Padding != 0 ? 4 : Stride != 1 ? 3 : 2;
        const std::size_t all[] = {Filters, Kernel, Stride, Padding, OutputPadding};
        std::string text = "conv_transpose2d<" + std::to_string(all[0]);
        for (std::size_t i = 1; i < shown; ++i)
            text += ", " + std::to_string(all[i]);
        return text + ">";
    }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind {
    private:
        using image = image_dims<In>;
        using here = layer<Position, conv_transpose2d>;
        // An axis's output before the padding is taken off it.
        static constexpr std::size_t grown(std::size_t in) {
            return (in - 1) * Stride + Kernel + OutputPadding;
        }

    public:
        using broken_rule = first_broken<
            rule<image::is_image, error::layer_needs_an_image<here, In>>,
            rule<Filters != 0, error::conv_transpose2d_has_no_filters<here>>,
            rule<Kernel != 0 && Stride != 0, error::window_size_is_zero<here>>,
            rule<(OutputPadding < Stride), error::output_padding_not_below_stride<here>>,
            rule<!channels_first<In, 1, Position>::likely,
                 error::image_written_channels_first<
                     here, In, typename channels_first<In, 1, Position>::channels_last>>,
            rule<(grown(image::height) > 2 * Padding && grown(image::width) > 2 * Padding),
                 error::transposed_padding_removes_output<here, In>>>;
        static constexpr bool valid = broken_rule::holds;

        using spec = conv_transpose2d;
        using in_shape = In;
        static constexpr std::size_t position = Position;
        static constexpr std::size_t height = image::height;
        static constexpr std::size_t width = image::width;
        static constexpr std::size_t channels = image::channels;
        static constexpr std::size_t out_height =
            valid ? grown(height) - 2 * Padding : placeholder_image_side;
        static constexpr std::size_t out_width =
            valid ? grown(width) - 2 * Padding : placeholder_image_side;
        static constexpr std::size_t out_channels = valid ? Filters : 1;
        using out_shape = shape<out_height, out_width, out_channels>;

    private:
        // The conv2d this layer reverses: from this layer's output to its input. Bound
        // at position 0, where no image is suspected of being written channels first
        // unless the kernel is larger than it (an output of at most 4 rows, padded).
        using reversed =
            typename conv2d<channels, Kernel, Stride, Padding>::template bind<out_shape, 0>;
        static_assert(
            !valid ||
                (reversed::valid &&
                 std::is_same_v<typename reversed::out_shape, shape<height, width, channels>>),
            "kiln: conv_transpose2d's output is too small for the conv2d it reverses "
            "to read it as an image; use less padding.");

    public:
        static constexpr std::size_t pixels = out_height * out_width; // per example
        static constexpr std::size_t weight_count = reversed::weight_count;
        static constexpr std::size_t param_count = weight_count + Filters;
        static constexpr bool is_view = false;
        static constexpr bool passes_gradient = false;

        static constexpr std::size_t bias_offset = padded_count(weight_count);
        static constexpr std::size_t storage_size = bias_offset + padded_count(Filters);
        static constexpr std::size_t weight_at(std::size_t row, std::size_t column,
                                               std::size_t channel, std::size_t filter) {
            return reversed::weight_at(row, column, filter, channel);
        }
        // PyTorch's [channel][filter][row][column], stored [row][column][filter][channel].
        static constexpr std::array parameter_parts{
            parameter_part{"weight", 0, {channels, Filters, Kernel, Kernel}, {2, 3, 1, 0}},
            parameter_part{"bias", bias_offset, {Filters}}};

        // PyTorch's fans for ConvTranspose2d: its weight's dimension 1 (Filters)
        // times the kernel is what it calls fan_in.
        template <class T, class Scheme>
        static void initialize(T* params, rng& random, const Scheme& scheme) {
            weights_and_bias::initialize(params, weight_count, params + bias_offset, Filters,
                                         Filters * Kernel * Kernel, channels * Kernel * Kernel,
                                         random, scheme);
        }

        static constexpr std::size_t flops_per_example = reversed::flops_per_example;

        // y = the reversed conv2d's input gradient for output gradient x, plus b.
        template <class T>
        static void forward(const T* params, const T* x, T* y, std::size_t batch,
                            work_share share = {}) noexcept {
            reversed::backward_input(params, static_cast<const T*>(nullptr),
                                     static_cast<const T*>(nullptr), x, y, batch, share);
            const auto examples = share.rows(batch);
            for (std::size_t r = examples.begin * pixels; r < examples.end * pixels; ++r)
                simd::map(
                    Filters, y + r * Filters,
                    [](const simd::vec<T>& v, const simd::vec<T>& b) { return v + b; },
                    static_cast<const T*>(y + r * Filters), params + bias_offset);
        }

        // dx = the reversed conv2d's forward of dy, without its bias.
        template <class T>
        static void backward_input(const T* params, const T*, const T*, const T* dy, T* dx,
                                   std::size_t batch, work_share share = {}) noexcept {
            reversed::template forward<T, false>(params, dy, dx, batch, share);
        }

        // dW = the reversed conv2d's weight gradient with dy as its image and x as its
        // output gradient; db = the sum of dy's rows, in share 0.
        template <class T, class Sink>
        static void backward_params(const T* params, T* scratch, const T* x, const T*, const T* dy,
                                    std::size_t batch, Sink& sink, work_share share = {}) noexcept {
            reversed::template backward_params<T, Sink, false>(
                params, scratch, dy, static_cast<const T*>(nullptr), x, batch, sink, share);
            if (share.index == 0)
                weights_and_bias::bias_gradient<T, Filters>(dy, batch * pixels, bias_offset, sink);
        }
    };
};

} // namespace kiln
