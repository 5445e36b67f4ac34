#pragma once
// kiln::upsample2d<Factor>: each pixel repeated into a Factor x Factor block, as
// PyTorch's nn.Upsample(scale_factor=Factor, mode='nearest'): a height x width x
// channels image (layers/image.hpp) becomes (height Factor) x (width Factor) x
// channels. Backward sums each block's gradient into its pixel. Channels last, so
// a pixel's channels are copied and summed a register at a time. It fuses
// nothing (there is no product to fuse into) and has no parameters.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/names.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/image.hpp"
#include "kiln/layers/layer.hpp"

#include <algorithm>
#include <string>
#include <type_traits>

namespace kiln {

namespace error {
template <class Layer>
struct upsample_factor_is_zero {
    static void report() {
        static_assert(facts_of_the_error<Layer>,
                      "kiln: upsample2d<0> would repeat each pixel zero times, leaving no image. "
                      "Fix: give it a factor of at least 1, e.g. kiln::upsample2d<2>.");
    }
};
} // namespace error

namespace detail {
// The upsampled shape, of the input's rank; a placeholder after a mistake.
template <class In, std::size_t Factor>
struct upsampled_shape {
    using image = image_dims<In>;
    static constexpr bool fits = image::is_image && Factor != 0;
    static constexpr std::size_t height = fits ? image::height * Factor : placeholder_image_side;
    static constexpr std::size_t width = fits ? image::width * Factor : placeholder_image_side;
    using type = std::conditional_t<In::rank == 2, shape<height, width>,
                                    shape<height, width, image::channels>>;
};
} // namespace detail

template <std::size_t Factor>
struct upsample2d {
    static constexpr std::size_t factor = Factor;
    static std::string name() { return bracketed("upsample2d<", {Factor}, ">"); }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind
        : parameterless_layer<upsample2d, In, typename detail::upsampled_shape<In, Factor>::type,
                              Position> {
    private:
        using image = image_dims<In>;
        using here = layer<Position, upsample2d>;
        using out = typename detail::upsampled_shape<In, Factor>::type;

    public:
        using broken_rule =
            first_broken<rule<image::is_image, error::layer_needs_an_image<here, In>>,
                         rule<Factor != 0, error::upsample_factor_is_zero<here>>>;
        static constexpr bool valid = broken_rule::holds;
        static constexpr std::size_t height = image::height, width = image::width;
        static constexpr std::size_t channels = image::channels;
        static constexpr std::size_t out_height = detail::upsampled_shape<In, Factor>::height;
        static constexpr std::size_t out_width = detail::upsampled_shape<In, Factor>::width;
        static constexpr std::size_t flops_per_example = out::size;

        // Output row i is input row i / Factor, each pixel Factor times; the other
        // Factor - 1 rows of a block are copies of the first.
        template <class T>
        static void forward(const T*, const T* x, T* y, std::size_t batch,
                            work_share share = {}) noexcept {
            constexpr std::size_t out_row = out_width * channels;
            const auto examples = share.rows(batch);
            for (std::size_t n = examples.begin; n < examples.end; ++n)
                for (std::size_t i = 0; i < height; ++i) {
                    T* const first = y + n * out::size + i * Factor * out_row;
                    const T* const from = x + n * In::size + i * width * channels;
                    for (std::size_t j = 0; j < width; ++j)
                        for (std::size_t copy = 0; copy < Factor; ++copy)
                            std::copy_n(from + j * channels, channels,
                                        first + (j * Factor + copy) * channels);
                    for (std::size_t copy = 1; copy < Factor; ++copy)
                        std::copy_n(first, out_row, first + copy * out_row);
                }
        }

        // dx[a][b] = the sum of dy over output pixels (a Factor + r, b Factor + s).
        template <class T>
        static void backward_input(const T*, const T*, const T*, const T* dy, T* dx,
                                   std::size_t batch, work_share share = {}) noexcept {
            const auto examples = share.rows(batch);
            for (std::size_t n = examples.begin; n < examples.end; ++n)
                for (std::size_t a = 0; a < height; ++a)
                    for (std::size_t b = 0; b < width; ++b) {
                        T* const to = dx + n * In::size + (a * width + b) * channels;
                        std::fill_n(to, channels, T{0});
                        for (std::size_t r = 0; r < Factor; ++r)
                            for (std::size_t s = 0; s < Factor; ++s)
                                simd::map(
                                    channels, to,
                                    [](const simd::vec<T>& sum, const simd::vec<T>& g) {
                                        return sum + g;
                                    },
                                    static_cast<const T*>(to),
                                    dy + n * out::size +
                                        ((a * Factor + r) * out_width + b * Factor + s) * channels);
                    }
        }
    };
};

} // namespace kiln
