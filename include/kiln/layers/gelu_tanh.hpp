#pragma once
// kiln::gelu_tanh: GELU's tanh approximation, 0.5 x (1 + tanh(k (x + 0.044715 x^3)))
// with k = sqrt(2 / pi), elementwise, like PyTorch's nn.GELU(approximate='tanh')
// (GPT-2's). Its derivative needs the input, so, like the exact kiln::gelu, it runs
// its own forward pass and its backward fuses into the linear or conv2d after it
// (graph/lowering.hpp).
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/activation.hpp"

#include <string>

namespace kiln {

struct gelu_tanh : elementwise_activation<gelu_tanh> {
    static std::string name() { return "gelu_tanh"; }
    static constexpr bool derivative_reads_output = false;

    template <class V>
    static V apply(const V& x) noexcept {
        return of<V>(half) * x * (V(1) + simd::tanh(inner(x)));
    }
    // With t = tanh(u), u = k (x + c x^3):
    //   d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 c x^2)
    template <class V>
    static V backward(const V& x, const V& dy) noexcept {
        const V t = simd::tanh(inner(x));
        const V du = of<V>(k) * (V(1) + of<V>(3 * c) * x * x);
        return dy * of<V>(half) * ((V(1) + t) + x * (V(1) - t * t) * du);
    }

private:
    static constexpr double half = 0.5;
    static constexpr double k = 0.79788456080286535588; // sqrt(2 / pi)
    static constexpr double c = 0.044715;
    template <class V>
    static V of(double value) noexcept {
        return V(static_cast<typename V::value_type>(value));
    }
    template <class V>
    static V inner(const V& x) noexcept {
        return of<V>(k) * (x + of<V>(c) * x * x * x);
    }
};

} // namespace kiln
