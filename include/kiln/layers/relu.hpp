#pragma once
// kiln::relu: max(x, 0), elementwise. Backward reads its own output: y > 0
// exactly where x > 0, so the input need not be kept. Next to an affine layer it
// costs nothing (graph/lowering.hpp): the layer before applies it as it stores,
// the layer after masks the gradient it computes.
#include "kiln/core/thread_pool.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/layer.hpp"

#include <string>

namespace kiln {

struct relu {
    static std::string name() { return "relu"; }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : parameterless_layer<relu, In, In, Position> {
        static constexpr bool is_view = fuses_relu_forward<Previous, relu>;
        static constexpr bool passes_gradient = fuses_relu_backward<relu, Next>;

        static constexpr std::size_t flops_per_example = In::size;

        template <class T>
        static void forward(const T*, const T* x, T* y, std::size_t batch,
                            work_share share = {}) noexcept {
            const auto part = share.rows(batch * In::size, simd::width<T>);
            simd::relu(part.end - part.begin, x + part.begin, y + part.begin);
        }
        template <class T>
        static void backward_input(const T*, const T*, const T* y, const T* dy, T* dx,
                                   std::size_t batch, work_share share = {}) noexcept {
            const auto part = share.rows(batch * In::size, simd::width<T>);
            simd::relu_backward(part.end - part.begin, y + part.begin, dy + part.begin,
                                dx + part.begin);
        }
    };
};

} // namespace kiln
