#pragma once
// kiln::relu: max(x, 0), elementwise. Backward reads its own output: y > 0
// exactly where x > 0, so the input need not be kept.
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/layer.hpp"

#include <string>

namespace kiln {

struct relu {
    static std::string name() { return "relu"; }

    template <class In, std::size_t Position>
    struct bind : parameterless_layer<relu, In, In, Position> {
        template <class T>
        static void forward(const T*, const T* x, T* y, std::size_t batch) noexcept {
            simd::relu(batch * In::size, x, y);
        }
        template <class T>
        static void backward(const T*, T*, const T*, const T* y, const T* dy, T* dx,
                             std::size_t batch) noexcept {
            if (dx != nullptr) simd::relu_backward(batch * In::size, y, dy, dx);
        }
    };
};

} // namespace kiln
