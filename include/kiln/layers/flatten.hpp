#pragma once
// kiln::flatten: every feature axis of an example folded into one vector. Storage
// is already row-major, so this is a view: no copy forward, none backward.
#include "kiln/layers/layer.hpp"

#include <string>

namespace kiln {

struct flatten {
    static std::string name() { return "flatten"; }

    template <class In, std::size_t Position>
    struct bind : parameterless_layer<flatten, In, flat_t<In>, Position> {
        static constexpr bool is_view = true;
        template <class T>
        static void forward(const T*, const T*, T*, std::size_t) noexcept {}
        template <class T>
        static void backward(const T*, T*, const T*, const T*, const T*, T*, std::size_t) noexcept {
        }
    };
};

} // namespace kiln
