#pragma once
// kiln::flatten: every feature axis of an example folded into one vector. Storage
// is already row-major, so this is a view: no copy forward, none backward.
#include "kiln/graph/lowering.hpp"
#include "kiln/layers/layer.hpp"

#include <string>

namespace kiln {

struct flatten {
    static std::string name() { return "flatten"; }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : parameterless_layer<flatten, In, flat_t<In>, Position> {
        static constexpr bool is_view = true;
        static constexpr bool passes_gradient = true;
    };
};

} // namespace kiln
