#pragma once
// kiln::residual<Specs...>: x + f(x), where f is the network Specs... (bound to
// x's shape). The branch must give back x's shape, which is checked where the
// residual is bound. Backward: d loss / d x = dy + f's input gradient.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/type_list.hpp"
#include "kiln/graph/composite.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/kernels/simd.hpp"

#include <cstddef>
#include <string>
#include <type_traits>

namespace kiln {

namespace error {
template <class Layer, class Got, class Needs>
struct residual_branch_changes_the_shape {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: the branch of kiln::residual<...> turns its input of shape 'Needs' "
                      "into shape 'Got', so x + f(x) cannot be added up. Fix: end the branch "
                      "with a layer that gives back the input's width (e.g. kiln::linear<64> "
                      "for a 64-wide input).");
    }
};
} // namespace error

template <class... Specs>
struct residual {
    static std::string name() { return "residual<" + spec_names<Specs...>() + ">"; }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : composite_layer<residual, In, Position, inner_network<In, Specs...>> {
        using branch = inner_network<In, Specs...>;
        using out_shape = In;
        using broken_rule =
            first_broken<located_rule<typename branch::broken_rule, layer<Position, residual>>,
                         rule<std::is_same_v<typename branch::out_shape, In>,
                              error::residual_branch_changes_the_shape<
                                  layer<Position, residual>, typename branch::out_shape, In>>>;
        static constexpr bool valid = broken_rule::holds;

        template <class T>
        static void forward(const T* params, const T* x, T* y, T* saved, std::size_t batch,
                            const pass_mode& mode = {}) noexcept {
            if constexpr (valid) {
                const T* const fx = branch::forward(params, x, saved, batch, on_this_core{},
                                                    mode_inside(mode, Position));
                simd::add(batch * In::size, x, fx, y);
            }
        }

        template <class T, class Sink>
        static void backward(const T* params, T* scratch, const T* x, const T*, T* saved,
                             const T* dy, T* dx, std::size_t batch, Sink& sink,
                             const pass_mode& mode = {}) noexcept {
            if constexpr (valid) {
                branch::backward(params, scratch, x, saved, dy, dx, batch, sink, on_this_core{},
                                 mode_inside(mode, Position));
                if (dx != nullptr) simd::add(batch * In::size, dx, dy, dx);
            }
        }
    };
};

} // namespace kiln
