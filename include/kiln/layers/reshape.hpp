#pragma once
// kiln::reshape<Dims...>: the same values seen with another shape of the same
// size, e.g. reshape<28, 28, 1> turns a 784-vector into a one-channel image.
// Storage is row-major either way, so, like flatten, this is a view: no copy
// forward, none backward.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/layers/layer.hpp"

#include <string>
#include <type_traits>

namespace kiln {

namespace error {
template <class Layer, class Got, class Needs>
struct reshape_changes_the_size {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: reshape can only view the values it receives (shape 'Got') in another "
                      "shape of the same size, but 'Needs' holds a different number of values. "
                      "Fix: choose dimensions whose product is the size of the input.");
    }
};
} // namespace error

template <std::size_t... Dims>
struct reshape {
    using shape_type = shape<Dims...>;
    static std::string name() { return bracketed("reshape<", {Dims...}, ">"); }

    // After a reported mistake the layer still claims the shape asked for, which is
    // what the layers after it were written for, so they add no errors of their own.
    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind
        : parameterless_layer<
              reshape, In,
              std::conditional_t<sizeof...(Dims) != 0 && !shape_type::has_zero_dim, shape_type, In>,
              Position> {
        static constexpr bool same_size = sizeof...(Dims) != 0 && In::size == shape_type::size;
        using broken_rule = first_broken<rule<
            same_size, error::reshape_changes_the_size<layer<Position, reshape>, In, shape_type>>>;
        static constexpr bool valid = broken_rule::holds;
        static constexpr bool is_view = true;
        static constexpr bool passes_gradient = true;
    };
};

} // namespace kiln
