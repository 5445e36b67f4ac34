#pragma once
// kiln::elementwise_activation<Spec>: everything an elementwise activation layer
// does, written once. An activation states only its function:
//   name()
//   apply(v)                    its forward on a register of values
//   derivative_reads_output     whether its derivative is computed from its
//                               output (relu, tanh) or from its input (gelu)
//   backward(saved, dy)         dy times the derivative, on a register, where saved
//                               is the output or the input as above
// and derives from elementwise_activation<Spec>, which binds it as a layer and
// marks it for graph/lowering.hpp: next to a linear or conv2d it fuses into their
// register epilogues, with no edit to them. An activation with a parameter in its
// type that some values of break (elu's alpha) may also state
//   template <class Here> using broken_rule_at = kiln::rule<...>;
// Here being its kiln::layer<Position, Spec>, which the network reports as it does
// every layer's rules (core/diagnostics.hpp).
#include "kiln/core/thread_pool.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/layer.hpp"

#include <cstddef>

namespace kiln {

namespace detail {
template <class Spec, class Here>
struct activation_rule {
    using type = no_broken_rule;
};
template <class Spec, class Here>
requires requires {
    typename Spec::template broken_rule_at<Here>;
}
struct activation_rule<Spec, Here> {
    using type = typename Spec::template broken_rule_at<Here>;
};
} // namespace detail

template <class Spec>
struct elementwise_activation {
    static constexpr bool is_activation = true;

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : parameterless_layer<Spec, In, In, Position> {
        using broken_rule = typename detail::activation_rule<Spec, layer<Position, Spec>>::type;
        static constexpr bool is_view = fuses_forward<Previous, Spec>;
        static constexpr bool passes_gradient = fuses_backward<Spec, Next>;
        static constexpr std::size_t flops_per_example = In::size;

        template <class T>
        static void forward(const T*, const T* x, T* y, std::size_t batch,
                            work_share share = {}) noexcept {
            const auto part = share.rows(batch * In::size, simd::width<T>);
            simd::map(
                part.end - part.begin, y + part.begin,
                [](const simd::vec<T>& v) { return Spec::apply(v); }, x + part.begin);
        }
        template <class T>
        static void backward_input(const T*, const T* x, const T* y, const T* dy, T* dx,
                                   std::size_t batch, work_share share = {}) noexcept {
            const auto part = share.rows(batch * In::size, simd::width<T>);
            const T* const saved = Spec::derivative_reads_output ? y : x;
            simd::map(
                part.end - part.begin, dx + part.begin,
                [](const simd::vec<T>& s, const simd::vec<T>& g) { return Spec::backward(s, g); },
                saved + part.begin, dy + part.begin);
        }
    };
};

} // namespace kiln
