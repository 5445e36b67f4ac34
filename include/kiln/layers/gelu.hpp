#pragma once
// kiln::gelu: x Phi(x), Phi the standard normal's distribution function, like
// PyTorch's nn.GELU() (the exact form, through erf). Its derivative
// Phi(x) + x phi(x) needs the input, which a fused forward would not keep: gelu
// runs its own forward pass, and its backward fuses into the linear or conv2d
// after it (graph/lowering.hpp).
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/activation.hpp"

#include <string>

namespace kiln {

struct gelu : elementwise_activation<gelu> {
    static std::string name() { return "gelu"; }
    static constexpr bool derivative_reads_output = false;

    template <class V>
    static V apply(const V& x) noexcept {
        return x * normal_cdf(x);
    }
    template <class V>
    static V backward(const V& x, const V& dy) noexcept {
        using T = typename V::value_type;
        const V density = V(static_cast<T>(inverse_sqrt_2pi)) * simd::exp(V(T{-0.5}) * x * x);
        return dy * (normal_cdf(x) + x * density);
    }

private:
    static constexpr double inverse_sqrt_2 = 0.70710678118654752440;
    static constexpr double inverse_sqrt_2pi = 0.39894228040143267794;
    template <class V>
    static V normal_cdf(const V& x) noexcept {
        using T = typename V::value_type;
        return V(T{0.5}) * (V(T{1}) + simd::erf(x * V(static_cast<T>(inverse_sqrt_2))));
    }
};

} // namespace kiln
