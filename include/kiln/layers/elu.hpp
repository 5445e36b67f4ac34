#pragma once
// kiln::elu<Alpha>: x where x > 0, else Alpha (e^x - 1), elementwise, like
// PyTorch's nn.ELU(alpha=Alpha); alpha is part of the type (kiln::elu<0.5>), 1 by
// default. For x <= 0 the derivative Alpha e^x is y + Alpha, and the output is
// positive exactly where the input is, so the derivative reads the output and the
// layer fuses into a linear or conv2d both ways, as relu does (graph/lowering.hpp).
// A negative alpha would make the output positive on both sides of 0 (and the
// function not monotone): it is refused at compile time (elu_alpha_is_negative).
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/names.hpp"
#include "kiln/core/real_constant.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/activation.hpp"

#include <string>

namespace kiln {

namespace error {
template <class Layer>
struct elu_alpha_is_negative {
    static void report() {
        static_assert(facts_of_the_error<Layer>,
                      "kiln: elu's alpha (the number in the type of 'Layer') is negative or "
                      "not a number; ELU needs alpha >= 0. Fix: write kiln::elu<1.0> (PyTorch's "
                      "default) or another alpha >= 0, or kiln::leaky_relu<Slope> for a "
                      "negative slope.");
    }
};
} // namespace error

template <real_constant Alpha = 1.0>
struct elu : elementwise_activation<elu<Alpha>> {
    static constexpr double alpha = Alpha.value();
    static std::string name() { return with_number("elu<", alpha, ">"); }
    static constexpr bool derivative_reads_output = true;
    template <class Here>
    using broken_rule_at = rule<(alpha >= 0), error::elu_alpha_is_negative<Here>>;

    template <class V>
    static V apply(const V& x) noexcept {
        return simd::positive_else(x, x, alpha_of<V>() * simd::expm1(x));
    }
    template <class V>
    static V backward(const V& y, const V& dy) noexcept {
        return simd::positive_else(y, dy, (y + alpha_of<V>()) * dy);
    }

private:
    template <class V>
    static V alpha_of() noexcept {
        return V(static_cast<typename V::value_type>(alpha));
    }
};

} // namespace kiln
