#pragma once
// kiln::conv_patches: where the Kernel x Kernel patches of a 2-D convolution
// (conv2d, depthwise_conv2d) lie in a height x width x channels image, padded,
// strided and dilated as layers/padding.hpp says: the output's size, which
// output pixels read no padding, and, for a pixel that does, which of its
// patch's entries lie inside the image. Also the rules both layers keep, so
// that each states only its own (a filter count, a channel multiplier).
#include "kiln/core/diagnostics.hpp"
#include "kiln/layers/image.hpp"
#include "kiln/layers/padding.hpp"

#include <cstddef>

namespace kiln {

namespace error {
template <class Layer, class Got, class Needs>
struct kernel_larger_than_input {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: the convolution's kernel 'Needs' (height x width) is larger than the "
                      "image 'Got' it receives, padded as the layer says, so it has no place to "
                      "go (a dilated kernel spans Dilation (Kernel - 1) + 1). Fix: use a smaller "
                      "kernel or dilation, pad (kiln::conv2d<F, K, 1, kiln::same>), remove a "
                      "layer that shrinks the image before it, or feed it a larger image.");
    }
};
} // namespace error

template <std::size_t Height, std::size_t Width, std::size_t Channels, std::size_t Kernel,
          std::size_t Stride, padding Padding, std::size_t Dilation>
struct conv_patches {
    using rows_axis = conv_axis<Height, Kernel, Stride, Padding, Dilation>;
    using columns_axis = conv_axis<Width, Kernel, Stride, Padding, Dilation>;
    using kernel_window = window<rows_axis::extent, columns_axis::extent>;
    static constexpr bool kernel_fits = rows_axis::fits && columns_axis::fits;
    static constexpr std::size_t out_height = rows_axis::out;
    static constexpr std::size_t out_width = columns_axis::out;
    static constexpr std::size_t pixels = out_height * out_width;
    // Whether some output pixel's patch reaches into the padding.
    static constexpr bool reads_padding = rows_axis::reads_padding || columns_axis::reads_padding;
    static constexpr std::size_t row_stride = Width * Channels; // one image row

    // Whether output pixel p of an example reads no padding.
    static constexpr bool inside(std::size_t p) noexcept {
        const std::size_t i = p / out_width, j = p % out_width;
        return i >= rows_axis::inside_begin && i < rows_axis::inside_end &&
               j >= columns_axis::inside_begin && j < columns_axis::inside_end;
    }
    // Where output pixel p of an example starts its patch in the example's image
    // (for a pixel that reads padding, where it would start in a padded image).
    static constexpr std::size_t pixel_offset(std::size_t p) noexcept {
        return (p / out_width * Stride - rows_axis::before) * row_stride +
               (p % out_width * Stride - columns_axis::before) * Channels;
    }
    // Where tap (kernel row, kernel column) of a patch lies from the patch's start.
    static constexpr std::size_t tap_offset(std::size_t row, std::size_t column) noexcept {
        return row * Dilation * row_stride + column * Dilation * Channels;
    }
    // f(k, offset in the image) for the taps of pixel p's patch that lie inside
    // the image, g(k, count) for runs of count entries on the padding; k counts
    // the patch's entries (kernel row, kernel column, channel), a tap's Channels
    // entries together.
    template <class Inside, class Outside>
    static void for_patch_entries(std::size_t p, Inside&& f, Outside&& g) {
        const std::size_t i = p / out_width, j = p % out_width;
        for (std::size_t kr = 0; kr < Kernel; ++kr) {
            const std::size_t row_start = kr * Kernel * Channels;
            if (!rows_axis::tap_inside(i, kr)) {
                g(row_start, Kernel * Channels);
                continue;
            }
            const std::size_t row = rows_axis::tap_at(i, kr);
            for (std::size_t kc = 0; kc < Kernel; ++kc) {
                const std::size_t k = row_start + kc * Channels;
                if (columns_axis::tap_inside(j, kc))
                    f(k, (row * Width + columns_axis::tap_at(j, kc)) * Channels);
                else
                    g(k, Channels);
            }
        }
    }
};

// The rules of a 2-D convolution (Here: kiln::layer<Position, Spec>) over In,
// with its own rule (Own: filters, a multiplier) second; one mistake, one error.
template <class Here, class In, std::size_t Kernel, std::size_t Stride, padding Padding,
          std::size_t Dilation, std::size_t Position, class Own>
using conv2d_rules = first_broken<
    rule<image_dims<In>::is_image, error::layer_needs_an_image<Here, In>>, Own,
    rule<Kernel != 0 && Stride != 0 && Dilation != 0, error::window_size_is_zero<Here>>,
    rule<!Padding.is_same || Stride == 1, error::same_padding_needs_stride_one<Here>>,
    rule<!channels_first<In, Kernel, Position>::likely,
         error::image_written_channels_first<
             Here, In, typename channels_first<In, Kernel, Position>::channels_last>>,
    rule<conv_patches<image_dims<In>::height, image_dims<In>::width, image_dims<In>::channels,
                      Kernel, Stride, Padding, Dilation>::kernel_fits,
         error::kernel_larger_than_input<
             Here, In,
             typename conv_patches<image_dims<In>::height, image_dims<In>::width,
                                   image_dims<In>::channels, Kernel, Stride, Padding,
                                   Dilation>::kernel_window>>>;

} // namespace kiln
