#pragma once
// What every layer has in common, and the contract a new layer fulfils.
//
// A layer *spec* is what the user writes (`kiln::linear<128>`): it names only what
// it decides. `Spec::bind<In, Position>` is the layer once its input shape is
// known, with:
//   valid                    false after a kiln::require reported a mistake
//   in_shape, out_shape      shapes of one example
//   param_count              logical number of parameters (what PyTorch would count)
//   storage_size             scalars its slice of the parameter buffer takes (padded)
//   is_view                  true when the output is the input seen with another
//                            shape: no work, no memory, the gradient passes through
//   initialize(params, rng, scheme)
//   forward(params, x, y, batch)
//   backward(params, grads, x, y, dy, dx, batch): writes (not adds) the parameter
//            gradient into grads and, when dx is not null, the input gradient.
// All pointers are to batch-major, contiguous storage.
#include "kiln/core/init.hpp"
#include "kiln/core/rng.hpp"
#include "kiln/core/shape.hpp"

#include <cstddef>

namespace kiln {

// Base for a bound layer without parameters.
template <class Spec, class In, class Out, std::size_t Position>
struct parameterless_layer {
    using spec = Spec;
    using in_shape = In;
    using out_shape = Out;
    static constexpr std::size_t position = Position;
    static constexpr std::size_t param_count = 0;
    static constexpr bool valid = true;
    static constexpr bool is_view = false;
    static constexpr std::size_t storage_size = 0;
    template <class T, class Scheme>
    static void initialize(T*, rng&, const Scheme&) {}
};

} // namespace kiln
