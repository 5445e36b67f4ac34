#pragma once
// Lowering: the compile-time rewrite of a layer list into fused work. Every
// fusion rule lives here, as a question about two neighbouring layer specs; the
// layers ask it when they are bound and change what they do, not what they mean.
//
// The rules are about roles, never about particular layers:
//   - an *activation* is elementwise and says how (layers/activation.hpp): its
//     forward on a register, and its backward from its saved output or input;
//   - a layer with an *epilogue* (linear, conv2d, batch_norm) stores its output
//     register by register and can apply an activation to each register on the way;
//   - a layer that *absorbs* an activation's gradient computes its own input
//     gradient register by register and can multiply each by the activation's
//     derivative on the way (linear, conv2d, depthwise_conv2d: any activation;
//     max_pool2d: one whose derivative reads its output, which is then the pool's
//     own output).
//
//   epilogue -> activation   forward: the epilogue applies the activation; the
//                            activation's output is its input's memory (a view).
//                            Only for an activation whose derivative reads its
//                            output: one that reads its input needs that input
//                            kept, so it runs its own forward.
//   activation -> absorber   backward: the absorber multiplies the input gradient
//                            it computes by the activation's derivative; the
//                            activation passes the gradient through. The runner
//                            hands the absorber, as its backward_input's x, the
//                            values the derivative reads (graph/runner.hpp).
//
// kiln::unfused_sequential binds the same layers with no neighbours, which turns
// every rule off: the reference that tests compare the fused code against.
#include "kiln/layers/layer.hpp"

#include <type_traits>

namespace kiln {

// An elementwise activation (layers/activation.hpp has the base that states it).
template <class Spec>
concept activation = requires {
    Spec::is_activation;
    Spec::derivative_reads_output;
};

// The activation that does nothing: what a layer applies or absorbs when no
// activation is fused into it.
struct no_activation {
    static constexpr bool is_activation = true;
    static constexpr bool derivative_reads_output = true;
    template <class V>
    static V apply(const V& x) noexcept {
        return x;
    }
    template <class V>
    static V backward(const V&, const V& dy) noexcept {
        return dy;
    }
};

// Layers that store their output through an epilogue that can apply an activation.
template <class Spec>
inline constexpr bool has_activation_epilogue = requires {
    Spec::has_activation_epilogue;
};

// Layers that can multiply the input gradient they compute by an activation's
// derivative: every activation, or (absorbs_output_activation_gradient) one whose
// derivative reads its output.
template <class Spec, class Activation>
inline constexpr bool absorbs_gradient_of = [] {
    if constexpr (requires { Spec::absorbs_activation_gradient; })
        return true;
    else if constexpr (requires { Spec::absorbs_output_activation_gradient; })
        return Activation::derivative_reads_output;
    else
        return false;
}();

template <class Previous, class Spec>
inline constexpr bool fuses_forward = [] {
    if constexpr (activation<Spec>)
        return Spec::derivative_reads_output && has_activation_epilogue<Previous>;
    else
        return false;
}();

template <class Spec, class Next>
inline constexpr bool fuses_backward = [] {
    if constexpr (activation<Spec>)
        return absorbs_gradient_of<Next, Spec>;
    else
        return false;
}();

// What a layer with an epilogue applies as it stores: Next when it fuses, else nothing.
template <class Spec, class Next>
using applied_activation = std::conditional_t<fuses_forward<Spec, Next>, Next, no_activation>;

// What an absorbing layer multiplies its input gradient by: Previous's
// derivative when it fuses, else nothing.
template <class Previous, class Spec>
using absorbed_activation =
    std::conditional_t<fuses_backward<Previous, Spec>, Previous, no_activation>;

// The activation a bound layer absorbs (its `absorbed` member), or no_activation.
template <class Layer>
struct absorbed_by_layer {
    using type = no_activation;
};
template <class Layer>
requires requires {
    typename Layer::absorbed;
}
struct absorbed_by_layer<Layer> {
    using type = typename Layer::absorbed;
};
template <class Layer>
using absorbed_by = typename absorbed_by_layer<Layer>::type;

} // namespace kiln
