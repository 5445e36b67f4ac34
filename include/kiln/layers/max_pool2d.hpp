#pragma once
// kiln::max_pool2d<Size>: the largest value of each Size x Size window, channel by
// channel, the windows side by side (stride = Size). Rows and columns that do not
// fill a window are dropped, as PyTorch's MaxPool2d rounds down. The image stays
// channels-last (layers/image.hpp), so a register holds several channels of a pixel.
//
// Backward sends each window's gradient to the first position (row by row) that
// holds the maximum, as PyTorch does, and zero to the rest; it finds that position
// again by comparing the input with the output, so no indices are stored. After an
// activation whose derivative reads its output (graph/lowering.hpp), it applies
// that derivative to the gradient it routes: the activation's output at the chosen
// position is the pool's own output, so the activation's backward pass is not needed.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/names.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/kernels/gemm.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/image.hpp"
#include "kiln/layers/layer.hpp"

#include <algorithm>
#include <string>
#include <type_traits>

namespace kiln {

namespace error {
template <class Layer, class Got, class Needs>
struct pool_window_larger_than_input {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: the pooling window 'Needs' (height x width) is larger than the "
                      "feature map 'Got' it receives, so it would produce nothing. Fix: use a "
                      "smaller window, or remove a layer that shrinks the map before it.");
    }
};
} // namespace error

namespace detail {
// The pooled shape, of the input's rank; a placeholder after a mistake (reported by bind).
template <class In, std::size_t Size>
struct pooled_shape {
    using image = image_dims<In>;
    static constexpr bool fits =
        image::is_image && Size != 0 && Size <= image::height && Size <= image::width;
    static constexpr std::size_t height = fits ? image::height / Size : placeholder_image_side;
    static constexpr std::size_t width = fits ? image::width / Size : placeholder_image_side;
    using type = std::conditional_t<In::rank == 2, shape<height, width>,
                                    shape<height, width, image::channels>>;
};

// The rules of a pooling layer (Here: kiln::layer<Position, Spec>) with Size x Size windows.
template <class Here, class In, std::size_t Size, std::size_t Position>
struct pooling_rules {
    using image = image_dims<In>;
    using type = first_broken<
        rule<image::is_image, error::layer_needs_an_image<Here, In>>,
        rule<Size != 0, error::window_size_is_zero<Here>>,
        rule<!channels_first<In, Size, Position>::likely,
             error::image_written_channels_first<
                 Here, In, typename channels_first<In, Size, Position>::channels_last>>,
        rule<Size <= image::height && Size <= image::width,
             error::pool_window_larger_than_input<Here, In, window<Size, Size>>>>;
};

// Where the Size x Size windows of a pooling layer lie in an example of width x
// channels rows, and its channels a register at a time (avg_pool2d shares them).
template <std::size_t Width, std::size_t Channels, std::size_t Size>
struct pool_windows {
    // f(channel, lanes as a std::integral_constant) for the channels of a pixel,
    // a register at a time, the last one partial.
    template <class T, class F>
    static void for_channels(F&& f) {
        constexpr std::size_t W = simd::width<T>;
        std::size_t c = 0;
        for (; c + W <= Channels; c += W)
            f(c, std::integral_constant<std::size_t, W>{});
        if constexpr (Channels % W != 0) f(c, std::integral_constant<std::size_t, Channels % W>{});
    }
    // Offset of window (i, j)'s first value, and of its value (di, dj).
    static constexpr std::size_t window_at(std::size_t i, std::size_t j) {
        return (i * Width + j) * Size * Channels;
    }
    static constexpr std::size_t within(std::size_t di, std::size_t dj) {
        return (di * Width + dj) * Channels;
    }
};

// What every Size x Size pooling layer (Spec) bound at Position over In states:
// its rules, its sizes and where its windows lie (max_pool2d and avg_pool2d).
template <class Spec, class In, std::size_t Size, std::size_t Position>
struct pooling_layer
    : parameterless_layer<Spec, In, typename pooled_shape<In, Size>::type, Position> {
    using broken_rule = typename pooling_rules<layer<Position, Spec>, In, Size, Position>::type;
    static constexpr bool valid = broken_rule::holds;

    static constexpr std::size_t height = image_dims<In>::height;
    static constexpr std::size_t width = image_dims<In>::width;
    static constexpr std::size_t channels = image_dims<In>::channels;
    static constexpr std::size_t out_height = pooled_shape<In, Size>::height;
    static constexpr std::size_t out_width = pooled_shape<In, Size>::width;
    static constexpr std::size_t flops_per_example = In::size;

protected:
    using out = typename pooled_shape<In, Size>::type;
    using windows = pool_windows<width, channels, Size>;
    template <class T, class F>
    static void for_channels(F&& f) {
        windows::template for_channels<T>(f);
    }
};
} // namespace detail

template <std::size_t Size>
struct max_pool2d {
    static constexpr std::size_t size = Size;
    static std::string name() { return bracketed("max_pool2d<", {Size}, ">"); }

    // An activation before it passes its gradient through; this layer applies its
    // derivative (graph/lowering.hpp).
    static constexpr bool absorbs_output_activation_gradient = true;

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : detail::pooling_layer<max_pool2d, In, Size, Position> {
    private:
        using base = detail::pooling_layer<max_pool2d, In, Size, Position>;
        using typename base::out;
        using typename base::windows;

    public:
        using base::channels, base::height, base::width, base::out_height, base::out_width;

        using absorbed = absorbed_activation<Previous, max_pool2d>;

        template <class T>
        static void forward(const T*, const T* x, T* y, std::size_t batch,
                            work_share share = {}) noexcept {
            const auto examples = share.rows(batch);
            for (std::size_t n = examples.begin; n < examples.end; ++n)
                for (std::size_t i = 0; i < out_height; ++i)
                    for (std::size_t j = 0; j < out_width; ++j) {
                        const T* const from = x + n * In::size + windows::window_at(i, j);
                        T* const to = y + n * out::size + (i * out_width + j) * channels;
                        base::template for_channels<T>([&](std::size_t c, auto lanes) {
                            constexpr std::size_t L = decltype(lanes)::value;
                            auto best = kernels::load_lanes<L>(from + c);
                            for (std::size_t di = 0; di < Size; ++di)
                                for (std::size_t dj = di == 0 ? 1 : 0; dj < Size; ++dj)
                                    best = simd::max(best, kernels::load_lanes<L>(
                                                               from + windows::within(di, dj) + c));
                            kernels::store_lanes<L>(to + c, best);
                        });
                    }
        }

        template <class T>
        static void backward_input(const T*, const T* x, const T* y, const T* dy, T* dx,
                                   std::size_t batch, work_share share = {}) noexcept {
            const simd::vec<T> zero(T{0});
            const auto examples = share.rows(batch);
            for (std::size_t n = examples.begin; n < examples.end; ++n) {
                T* const dx_n = dx + n * In::size;
                // Columns and rows that no window covers get no gradient.
                if constexpr (width % Size != 0)
                    for (std::size_t i = 0; i < out_height * Size; ++i)
                        std::fill_n(dx_n + (i * width + out_width * Size) * channels,
                                    (width - out_width * Size) * channels, T{0});
                if constexpr (height % Size != 0)
                    std::fill(dx_n + out_height * Size * width * channels, dx_n + In::size, T{0});
                for (std::size_t i = 0; i < out_height; ++i)
                    for (std::size_t j = 0; j < out_width; ++j) {
                        const std::size_t first = n * In::size + windows::window_at(i, j);
                        const std::size_t pooled = n * out::size + (i * out_width + j) * channels;
                        base::template for_channels<T>([&](std::size_t c, auto lanes) {
                            constexpr std::size_t L = decltype(lanes)::value;
                            const auto top = kernels::load_lanes<L>(y + pooled + c);
                            auto left = kernels::load_lanes<L>(dy + pooled + c);
                            left = absorbed::backward(top, left);
                            // The first position holding the maximum takes what is left of
                            // the gradient; after it, nothing is left.
                            for (std::size_t di = 0; di < Size; ++di)
                                for (std::size_t dj = 0; dj < Size; ++dj) {
                                    const std::size_t at = first + windows::within(di, dj) + c;
                                    const auto value = kernels::load_lanes<L>(x + at);
                                    kernels::store_lanes<L>(
                                        dx + at, simd::select_equal(value, top, left, zero));
                                    left = simd::select_equal(value, top, zero, left);
                                }
                        });
                    }
            }
        }
    };
};

} // namespace kiln
