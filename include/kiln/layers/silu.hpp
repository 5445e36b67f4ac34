#pragma once
// kiln::silu: x sigmoid(x) (also called swish), elementwise, like PyTorch's
// nn.SiLU. Its derivative s (1 + x (1 - s)), s = sigmoid(x), needs the input, so
// silu runs its own forward pass, and its backward fuses into the linear or conv2d
// after it (graph/lowering.hpp), as gelu's does.
#include "kiln/layers/activation.hpp"
#include "kiln/layers/sigmoid.hpp"

#include <string>

namespace kiln {

struct silu : elementwise_activation<silu> {
    static std::string name() { return "silu"; }
    static constexpr bool derivative_reads_output = false;
    template <class V>
    static V apply(const V& x) noexcept {
        return x * sigmoid::apply(x);
    }
    template <class V>
    static V backward(const V& x, const V& dy) noexcept {
        const V s = sigmoid::apply(x);
        return dy * s * (V(1) + x * (V(1) - s));
    }
};

} // namespace kiln
