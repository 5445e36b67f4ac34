#pragma once
// What every layer has in common, and the contract a new layer fulfils.
//
// A layer *spec* is what the user writes (`kiln::linear<128>`): it names only what
// it decides. `Spec::bind<In, Position, Previous, Next>` is the layer once its
// input shape and its neighbours' specs are known (the neighbours are kiln::no_layer
// at the ends and in an unfused network; graph/lowering.hpp has the fusion rules), with:
//   broken_rule              the first kiln::rule the layer breaks (kiln::first_broken
//                            of its rules, core/diagnostics.hpp), or no_broken_rule;
//                            the network reports it, so the layer never reports
//                            itself, and after a mistake claims a placeholder
//                            out_shape that the layers after it accept
//   valid                    broken_rule::holds
//   in_shape, out_shape      shapes of one example
//   param_count              logical number of parameters (what PyTorch would count)
//   storage_size             scalars its slice of the parameter buffer takes (padded)
//   is_view                  the output is the input's memory (a reshape, or work
//                            fused into the layer before): forward does nothing
//   passes_gradient          backward is the identity (the gradient buffer is
//                            reused as it is): backward is not called
//   initialize(params, rng, scheme)
//   flops_per_example        work of a pass, to decide whether to split it
// and, unless is_view / passes_gradient / param_count == 0 says they are not needed:
//   forward(params, x, y, batch, share)
//   backward_input(params, x, y, dy, dx, batch, share): the input gradient
//   backward_params(params, scratch, x, y, dy, batch, sink, share): hands every
//            parameter gradient to sink.template gradient<Lanes>(index in the
//            slice, register), which stores it or folds an optimizer update into
//            it; runs after backward_input, which still reads the old parameters.
//            scratch is the layer's slice of the gradient buffer, free for partial sums.
// Each pass does the part of the work `share` names (core/thread_pool.hpp), so
// the thread pool can split it; a part's results must not depend on the split.
// All pointers are to batch-major, contiguous storage.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/init.hpp"
#include "kiln/core/rng.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/thread_pool.hpp"

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
    using broken_rule = no_broken_rule;
    static constexpr bool valid = true;
    static constexpr bool is_view = false;
    static constexpr bool passes_gradient = false;
    static constexpr std::size_t storage_size = 0;
    static constexpr std::size_t flops_per_example = 0;
    template <class T, class Scheme>
    static void initialize(T*, rng&, const Scheme&) {}
};

} // namespace kiln
