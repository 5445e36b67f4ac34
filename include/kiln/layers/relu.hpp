#pragma once
// kiln::relu: max(x, 0), elementwise. Its derivative reads its own output (y > 0
// exactly where x > 0), so next to a linear or conv2d it costs nothing
// (graph/lowering.hpp): the layer before applies it as it stores, the layer after
// masks the gradient it computes.
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/activation.hpp"

#include <string>

namespace kiln {

struct relu : elementwise_activation<relu> {
    static std::string name() { return "relu"; }
    static constexpr bool derivative_reads_output = true;
    template <class V>
    static V apply(const V& x) noexcept {
        return simd::relu(x);
    }
    template <class V>
    static V backward(const V& y, const V& dy) noexcept {
        return simd::where_positive(y, dy);
    }
};

} // namespace kiln
