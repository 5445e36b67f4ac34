#pragma once
// kiln::tanh: the hyperbolic tangent, elementwise, like PyTorch's nn.Tanh. Its
// derivative 1 - y^2 reads its own output, so it fuses into a linear or conv2d
// both ways, as relu does (graph/lowering.hpp).
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/activation.hpp"

#include <string>

namespace kiln {

struct tanh : elementwise_activation<tanh> {
    static std::string name() { return "tanh"; }
    static constexpr bool derivative_reads_output = true;
    template <class V>
    static V apply(const V& x) noexcept {
        return simd::tanh(x);
    }
    template <class V>
    static V backward(const V& y, const V& dy) noexcept {
        return dy * (V(1) - y * y);
    }
};

} // namespace kiln
