#pragma once
// kiln::leaky_relu<Slope>: x where x > 0, else Slope x, elementwise, like PyTorch's
// nn.LeakyReLU(negative_slope=Slope); the slope is part of the type
// (kiln::leaky_relu<0.2>), PyTorch's 0.01 by default. With Slope >= 0 the output
// is positive exactly where the input is, so the derivative reads the output and
// the layer fuses into a linear or conv2d both ways, as relu does; a negative
// slope makes the output positive on both sides, so its derivative reads the input
// and only its backward fuses (graph/lowering.hpp).
#include "kiln/core/names.hpp"
#include "kiln/core/real_constant.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/activation.hpp"

#include <string>

namespace kiln {

template <real_constant Slope = 0.01>
struct leaky_relu : elementwise_activation<leaky_relu<Slope>> {
    static constexpr double slope = Slope.value();
    static std::string name() { return with_number("leaky_relu<", slope, ">"); }
    static constexpr bool derivative_reads_output = slope >= 0;

    template <class V>
    static V apply(const V& x) noexcept {
        return simd::positive_else(x, x, slope_of<V>() * x);
    }
    // saved is the output or the input: either is positive where x is.
    template <class V>
    static V backward(const V& saved, const V& dy) noexcept {
        return simd::positive_else(saved, dy, slope_of<V>() * dy);
    }

private:
    template <class V>
    static V slope_of() noexcept {
        return V(static_cast<typename V::value_type>(slope));
    }
};

} // namespace kiln
