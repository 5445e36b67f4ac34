#pragma once
// kiln::global_avg_pool2d: the mean of each channel over the whole image, a
// height x width x channels example becoming a vector of its channels (a rank-2
// image, one channel, becomes one value): PyTorch's nn.AdaptiveAvgPool2d(1)
// followed by nn.Flatten(), so a linear layer can follow directly. Backward
// spreads each channel's gradient evenly over its pixels. It fuses nothing, as
// avg_pool2d.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/image.hpp"
#include "kiln/layers/layer.hpp"

#include <string>

namespace kiln {

struct global_avg_pool2d {
    static std::string name() { return "global_avg_pool2d"; }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind
        : parameterless_layer<global_avg_pool2d, In, shape<image_dims<In>::channels>, Position> {
    private:
        using image = image_dims<In>;
        using here = layer<Position, global_avg_pool2d>;
        static constexpr std::size_t pixels = image::height * image::width;
        static constexpr std::size_t channels = image::channels;

    public:
        // A window as large as the image always fits; only the input's kind can be wrong.
        using broken_rule = first_broken<
            rule<image::is_image, error::layer_needs_an_image<here, In>>,
            rule<!channels_first<In, 1, Position>::likely,
                 error::image_written_channels_first<
                     here, In, typename channels_first<In, 1, Position>::channels_last>>>;
        static constexpr bool valid = broken_rule::holds;
        static constexpr std::size_t flops_per_example = In::size;

        // y[c] = the sum over pixels of x[pixel][c], over the pixel count: pixel by
        // pixel, the channels contiguous (the compiler vectorizes along them).
        template <class T>
        static void forward(const T*, const T* x, T* y, std::size_t batch,
                            work_share share = {}) noexcept {
            const auto examples = share.rows(batch);
            for (std::size_t n = examples.begin; n < examples.end; ++n) {
                const T* const image_n = x + n * In::size;
                T* const mean = y + n * channels;
                std::fill_n(mean, channels, T{0});
                for (std::size_t p = 0; p < pixels; ++p)
                    for (std::size_t c = 0; c < channels; ++c)
                        mean[c] += image_n[p * channels + c];
                for (std::size_t c = 0; c < channels; ++c)
                    mean[c] /= static_cast<T>(pixels);
            }
        }

        // dx[pixel][c] = dy[c] / pixels.
        template <class T>
        static void backward_input(const T*, const T*, const T*, const T* dy, T* dx,
                                   std::size_t batch, work_share share = {}) noexcept {
            const auto examples = share.rows(batch);
            for (std::size_t n = examples.begin; n < examples.end; ++n)
                for (std::size_t p = 0; p < pixels; ++p)
                    for (std::size_t c = 0; c < channels; ++c)
                        dx[n * In::size + p * channels + c] =
                            dy[n * channels + c] / static_cast<T>(pixels);
        }
    };
};

} // namespace kiln
