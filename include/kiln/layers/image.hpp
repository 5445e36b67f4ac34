#pragma once
// How the image layers (conv2d, max_pool2d) read an example: height x width x
// channels, channels last, so that the channels of one pixel (and a filter's
// outputs) are contiguous and a SIMD register holds several of them. A rank-2
// example (height x width, as Fashion-MNIST's 28 x 28) is an image of one
// channel, so kiln::input<28, 28> feeds a convolution directly.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/shape.hpp"

#include <cstddef>

namespace kiln {

// A kernel or pooling window (height x width), as diagnostics name it.
template <std::size_t Height, std::size_t Width>
struct window {};

// Shape's height, width and channels; is_image is false for any rank but 2 and
// 3, and the sizes are then 1 so that a reported mistake causes no follow-on ones.
template <class Shape>
struct image_dims {
    static constexpr bool is_image = false;
    static constexpr std::size_t height = 1, width = 1, channels = 1;
};
template <std::size_t H, std::size_t W>
struct image_dims<shape<H, W>> {
    static constexpr bool is_image = true;
    static constexpr std::size_t height = H, width = W, channels = 1;
};
template <std::size_t H, std::size_t W, std::size_t C>
struct image_dims<shape<H, W, C>> {
    static constexpr bool is_image = true;
    static constexpr std::size_t height = H, width = W, channels = C;
};

// Whether an image layer's input looks written channels first, as PyTorch writes
// images (channels x height x width: input<1, 28, 28>), which kiln would read as
// an image 1 pixel high with 28 channels. It looks so when its first axis is a
// few channels (at most 4, as grey, RGB, RGBA) smaller than the other two, and
// either the layer's window would fit it written channels last but does not fit
// it as it is, or it is the network's input (Position 1: the first layer reads
// it), where such a shape is not a plausible image.
template <class Shape, std::size_t Window, std::size_t Position>
struct channels_first {
    static constexpr bool likely = false;
    using channels_last = Shape;
};
template <std::size_t C, std::size_t H, std::size_t W, std::size_t Window, std::size_t Position>
struct channels_first<shape<C, H, W>, Window, Position> {
    using channels_last = shape<H, W, C>;
    static constexpr bool window_fits = Window <= C && Window <= H; // as kiln reads it
    static constexpr bool fits_channels_last = Window <= H && Window <= W;
    static constexpr bool likely =
        C <= 4 && C < H && C < W && fits_channels_last && (!window_fits || Position == 1);
};

// After a reported mistake an image layer claims an output this many pixels
// high and wide: large enough that the layers after it, which cannot be checked
// meaningfully any more, stay quiet (one mistake, one error).
inline constexpr std::size_t placeholder_image_side = 64;

namespace error {
template <class Layer, class Got>
struct layer_needs_an_image {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got>,
                      "kiln: this layer works on images (height x width, or height x width x "
                      "channels), but it receives shape 'Got'. Fix: declare the input as an image "
                      "(kiln::input<28, 28>), or view a vector as one with kiln::reshape<28, 28, "
                      "1> before this layer.");
    }
};
template <class Layer, class Got, class ChannelsLast>
struct image_written_channels_first {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, ChannelsLast>,
                      "kiln: image layers read height x width x channels (channels last), so "
                      "shape 'Got' is read as an image only as high as its first dimension, with "
                      "its last as channels: it looks written channels first, as PyTorch writes "
                      "images. Fix: write the image channels last, as 'ChannelsLast' (e.g. "
                      "kiln::input<28, 28, 1>), with the data in that order.");
    }
};
template <class Layer>
struct window_size_is_zero {
    static void report() {
        static_assert(facts_of_the_error<Layer>,
                      "kiln: a kernel, pooling window, stride or dilation of size zero covers "
                      "nothing. Fix: "
                      "give the layer (its position in the network is the first argument of "
                      "kiln::layer<...>) sizes of at least 1.");
    }
};
} // namespace error

} // namespace kiln
