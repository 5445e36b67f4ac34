#pragma once
// kiln::sigmoid: 1 / (1 + e^-x), elementwise, like PyTorch's nn.Sigmoid. Its
// derivative y (1 - y) reads its own output, so it fuses into a linear or conv2d
// both ways, as relu and tanh do (graph/lowering.hpp).
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/activation.hpp"

#include <string>

namespace kiln {

struct sigmoid : elementwise_activation<sigmoid> {
    static std::string name() { return "sigmoid"; }
    static constexpr bool derivative_reads_output = true;
    // e^-x overflows to infinity below about -88 (float), and 1 / infinity is the 0
    // the function tends to: no branch is needed.
    template <class V>
    static V apply(const V& x) noexcept {
        return V(1) / (V(1) + simd::exp(-x));
    }
    template <class V>
    static V backward(const V& y, const V& dy) noexcept {
        return dy * y * (V(1) - y);
    }
};

} // namespace kiln
