#pragma once
// kiln::softmax: e^x / sum e^x over each vector of the last axis, like PyTorch's
// nn.Softmax(dim=-1): a network's output as probabilities. (To train on classes,
// end the network with its scores and let softmax_cross_entropy take the softmax:
// a softmax layer before it would apply it twice.)
//
// Not an elementwise activation, so it does not fuse: each output depends on the
// whole vector, which a linear's or conv2d's register tile covers only part of, and
// its derivative is not a diagonal the layer after could multiply by. Its backward
// reads only its output: dx = y (dy - <dy, y>) row by row.
#include "kiln/core/shape.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/layer.hpp"

#include <algorithm>
#include <cstddef>
#include <string>

namespace kiln {

struct softmax {
    static std::string name() { return "softmax"; }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : parameterless_layer<softmax, In, In, Position> {
        static constexpr std::size_t width = last_dim<In>;
        static constexpr std::size_t rows_per_example = In::size / width;
        static constexpr std::size_t flops_per_example = 4 * In::size;

        // The largest value is subtracted first, so e^ never overflows.
        template <class T>
        static void forward(const T*, const T* x, T* y, std::size_t batch,
                            work_share share = {}) noexcept {
            using vec = simd::vec<T>;
            const auto part = share.rows(batch * rows_per_example);
            for (std::size_t r = part.begin; r < part.end; ++r) {
                const T* const v = x + r * width;
                T* const out = y + r * width;
                const vec largest(*std::max_element(v, v + width));
                simd::map(
                    width, out, [&](const vec& a) { return simd::exp(a - largest); }, v);
                T total = 0;
                for (std::size_t c = 0; c < width; ++c)
                    total += out[c];
                simd::scale_into(width, T{1} / total, out, out);
            }
        }

        template <class T>
        static void backward_input(const T*, const T*, const T* y, const T* dy, T* dx,
                                   std::size_t batch, work_share share = {}) noexcept {
            using vec = simd::vec<T>;
            const auto part = share.rows(batch * rows_per_example);
            for (std::size_t r = part.begin; r < part.end; ++r) {
                const std::size_t at = r * width;
                const vec along(simd::dot(width, dy + at, y + at));
                simd::map(
                    width, dx + at, [&](const vec& p, const vec& g) { return p * (g - along); },
                    y + at, dy + at);
            }
        }
    };
};

} // namespace kiln
