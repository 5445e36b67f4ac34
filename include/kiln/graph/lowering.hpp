#pragma once
// Lowering: the compile-time rewrite of a layer list into fused work. Every
// fusion rule lives here, as a question about two neighbouring layer specs; the
// layers ask it when they are bound and change what they do, not what they mean.
//
//   affine -> relu   forward: the affine layer applies relu as it stores its
//                    output; relu does nothing (its output is its input's memory).
//   relu -> affine   backward: the affine layer masks the input gradient it
//                    computes by relu's output; relu passes the gradient through.
//   relu -> max_pool2d  backward: the pool masks the gradient it routes by its
//                    output > 0 (relu's mask at the window's maximum); relu passes
//                    the gradient through.
//
// kiln::unfused_sequential binds the same layers with no neighbours, which turns
// every rule off: the reference that tests compare the fused code against.
#include <type_traits>

namespace kiln {

struct relu;

// Stands for "no layer here" at the ends of a network, and everywhere when unfused.
struct no_layer {};

// Layers that end in a matrix product and can take relu into its epilogue.
template <class Spec>
inline constexpr bool is_affine = requires {
    Spec::is_affine_layer;
};

template <class Previous, class Spec>
inline constexpr bool fuses_relu_forward = std::is_same_v<Spec, relu>&& is_affine<Previous>;

// Layers that can mask the input gradient they compute by relu's output: affine
// layers, and any layer that says so (max_pool2d).
template <class Spec>
inline constexpr bool absorbs_relu_backward = is_affine<Spec> || requires {
    Spec::absorbs_relu_gradient;
};

template <class Spec, class Next>
inline constexpr bool fuses_relu_backward =
    std::is_same_v<Spec, relu>&& absorbs_relu_backward<Next>;

} // namespace kiln
