#pragma once
// kiln::avg_pool2d<Size>: the mean of each Size x Size window, channel by channel,
// the windows side by side (stride = Size), as PyTorch's nn.AvgPool2d(Size).
// Rows and columns that do not fill a window are dropped, as PyTorch rounds down,
// and get no gradient. Channels last (layers/image.hpp), so a register holds
// several channels of a pixel. Backward spreads each window's gradient evenly
// over it. It fuses nothing: an activation's derivative before it is needed at
// every input, which the mean does not keep.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/names.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/kernels/gemm.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/image.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/layers/max_pool2d.hpp"

#include <algorithm>
#include <string>

namespace kiln {

template <std::size_t Size>
struct avg_pool2d {
    static constexpr std::size_t size = Size;
    static std::string name() { return bracketed("avg_pool2d<", {Size}, ">"); }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : detail::pooling_layer<avg_pool2d, In, Size, Position> {
    private:
        using base = detail::pooling_layer<avg_pool2d, In, Size, Position>;
        using typename base::out;
        using typename base::windows;

    public:
        using base::channels, base::height, base::width, base::out_height, base::out_width;

        template <class T>
        static constexpr T share_of_one = T{1} / static_cast<T>(Size* Size);

    public:
        template <class T>
        static void forward(const T*, const T* x, T* y, std::size_t batch,
                            work_share share = {}) noexcept {
            const simd::vec<T> scale(share_of_one<T>);
            const auto examples = share.rows(batch);
            for (std::size_t n = examples.begin; n < examples.end; ++n)
                for (std::size_t i = 0; i < out_height; ++i)
                    for (std::size_t j = 0; j < out_width; ++j) {
                        const T* const from = x + n * In::size + windows::window_at(i, j);
                        T* const to = y + n * out::size + (i * out_width + j) * channels;
                        base::template for_channels<T>([&](std::size_t c, auto lanes) {
                            constexpr std::size_t L = decltype(lanes)::value;
                            simd::vec<T> sum(T{0});
                            for (std::size_t di = 0; di < Size; ++di)
                                for (std::size_t dj = 0; dj < Size; ++dj)
                                    sum = sum + kernels::load_lanes<L>(from +
                                                                       windows::within(di, dj) + c);
                            kernels::store_lanes<L>(to + c, sum * scale);
                        });
                    }
        }

        template <class T>
        static void backward_input(const T*, const T*, const T*, const T* dy, T* dx,
                                   std::size_t batch, work_share share = {}) noexcept {
            const simd::vec<T> scale(share_of_one<T>);
            const auto examples = share.rows(batch);
            for (std::size_t n = examples.begin; n < examples.end; ++n) {
                T* const dx_n = dx + n * In::size;
                // Rows and columns that no window covers get no gradient.
                if constexpr (width % Size != 0 || height % Size != 0)
                    std::fill_n(dx_n, In::size, T{0});
                for (std::size_t i = 0; i < out_height; ++i)
                    for (std::size_t j = 0; j < out_width; ++j) {
                        const std::size_t first = windows::window_at(i, j);
                        const std::size_t pooled = n * out::size + (i * out_width + j) * channels;
                        base::template for_channels<T>([&](std::size_t c, auto lanes) {
                            constexpr std::size_t L = decltype(lanes)::value;
                            const auto spread = kernels::load_lanes<L>(dy + pooled + c) * scale;
                            for (std::size_t di = 0; di < Size; ++di)
                                for (std::size_t dj = 0; dj < Size; ++dj)
                                    kernels::store_lanes<L>(
                                        dx_n + first + windows::within(di, dj) + c, spread);
                        });
                    }
            }
        }
    };
};

} // namespace kiln
