#pragma once
// The layer contract: what a layer spec and a bound layer provide, as concepts
// that the network checks where it binds each spec (graph/sequential.hpp), so a
// layer that misses a member is reported by name, not by a failed call deep in
// the runner. docs/guide.md section 4 walks through writing a layer against it.
//
// A layer *spec* is what the user writes (`kiln::linear<128>`): it names only what
// it decides. It has
//   name()                                 "linear<128>", for summaries and errors
//   template bind<In, Position, Previous, Next>
//                                          the layer once its input shape and its
//                                          neighbours' specs are known
// (Position counts from 1 within the network or composite that holds the layer;
// Previous and Next are kiln::no_layer at the ends and in an unfused network:
// graph/lowering.hpp decides fusion from them.)
//
// A *bound layer* has
//   spec, in_shape, out_shape              types; shapes of one example
//   broken_rule                            the first kiln::rule it breaks, or
//                                          no_broken_rule; after a mistake it still
//                                          claims an out_shape the next layers accept
//   param_count                            logical parameters (what PyTorch counts)
//   storage_size                           scalars its slice of the parameter buffer
//                                          takes (padded)
//   is_view                                its output is its input's memory: forward
//                                          does nothing
//   passes_gradient                        backward is the identity: not called
//   flops_per_example                      work of a pass, to decide whether to split it
//   initialize(params, rng, scheme)
// and its passes, in one of two kinds:
//   plain:    forward(params, x, y, batch, share)
//             backward_input(params, x, y, dy, dx, batch, share)
//             backward_params(params, scratch, x, y, dy, batch, sink, share)
//             Each pass does the part of the work `share` names (core/thread_pool.hpp),
//             so the runner may split it between cores; a part's results must not
//             depend on the split. backward_input runs first: it reads the parameters
//             that the sink may update in backward_params. backward_params hands
//             every parameter gradient to sink.template gradient<Lanes>(index in the
//             slice, register); scratch is the layer's slice of the gradient buffer,
//             free for partial sums.
//   stateful: saved_per_example            scalars each example keeps for backward
//                                          beyond the output (padded; 0 is allowed)
//             forward(params, x, y, saved, batch)
//             backward(params, scratch, x, y, saved, dy, dx, batch, sink)
//             run whole on one core; backward computes dx (unless dx is null)
//             before it hands a gradient to the sink. One that reads the mode
//             (a composite holding dropout or batch_norm) takes it last in both.
// A view needs no forward, a layer that passes the gradient no backward_input, a
// layer without parameters no backward_params. All pointers are to batch-major,
// contiguous storage.
//
// A plain layer whose passes depend on training or evaluation (dropout,
// batch_norm) opts in with `static constexpr bool reads_mode = true`; the runner
// then calls forward, backward_input and backward_params with one more argument,
// the pass's kiln::pass_mode, after `share`. Other layers never see the mode.
//
// A plain layer whose input gradient needs the sums its parameter gradients are
// made of (batch_norm's sums of dy and dy x-hat) opts in with `static constexpr
// bool input_pass_writes_scratch = true`: its backward_input then takes scratch
// after params, backward_input(params, scratch, x, y, dy, dx, batch, share), runs
// whenever backward_params does (with dx null when no input gradient is wanted),
// and leaves in scratch what backward_params reads, so the sums are taken once.
//
// A plain layer whose passes need sums over the whole batch (batch_norm's
// statistics) declares `sums_per_example`, scalars the runner keeps per example
// for it from forward to backward (padded; a double takes two floats' room), and
// reads the mode and writes scratch as above. Before forward and before
// backward_input the runner then runs a pass that writes each example's sums,
//             forward_sums(params, x, sums, batch, share, mode)
//             backward_sums(params, x, dy, sums, batch, share, mode)
// and the pass after takes them as an argument before `batch`,
//             forward(params, x, y, sums, batch, share, mode)
//             backward_input(params, scratch, x, y, dy, dx, sums, batch, share, mode)
// so both passes split between cores, where sums each part took of the whole batch
// would be read again by every core. Added example by example, in order, the sums
// do not depend on the split.
//
// A plain layer that does not read the mode, whose parameter gradient is a sum
// over many examples' values (a convolution's, over every output pixel), which
// backward_params splits by parameters so that every core reads all of dy, may
// split it by examples instead: it declares `gradient_partials`, scalars of room
// for partial sums, and where the runner has that room (a workspace's top-level
// layers) it runs, in place of backward_params, two passes:
//             backward_partials(params, scratch, x, y, dy, partials, batch, sink, share)
//             combine_partials(partials, batch, sink, share)
// The first leaves partial sums in `partials` (or, where splitting by examples
// does not pay, does backward_params' work itself); the second adds them in an
// order that does not depend on the split and hands them to the sink.
#include "kiln/core/aligned_buffer.hpp"
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/init.hpp"
#include "kiln/core/rng.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/thread_pool.hpp"

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

namespace kiln {

// How a pass runs: a trainer's step is training (dropout drops, batch_norm uses
// and updates batch statistics); forward, evaluate, evaluator and predict are
// evaluation. seed and step pick dropout's masks, first_example is where the
// pass's examples start in the step's whole mini-batch (a step split between
// cores runs parts of it), so a mask does not depend on the split.
struct pass_mode {
    bool training = false;
    std::uint64_t seed = 0;
    std::uint64_t step = 0;
    std::size_t first_example = 0;
};

template <class Layer>
concept mode_reading_layer = requires {
    requires Layer::reads_mode;
};

template <class Layer>
concept input_pass_writing_scratch = requires {
    requires Layer::input_pass_writes_scratch;
};

template <class Layer>
concept summing_layer = requires {
    std::size_t{Layer::sums_per_example};
};

template <class Layer>
concept partial_summing_layer = requires {
    std::size_t{Layer::gradient_partials};
};

// A layer whose forward needs the whole mini-batch at once (batch_norm's
// statistics) says `static constexpr bool needs_whole_batch = true`: a trainer
// then never splits the batch between cores.
template <class Layer>
inline constexpr bool needs_whole_batch = [] {
    if constexpr (requires { Layer::needs_whole_batch; })
        return bool{Layer::needs_whole_batch};
    else
        return false;
}();

// The first scalars of a layer's slice that an optimizer trains; the rest, if
// any, is model state no gradient reaches (batch_norm's running statistics),
// which a flat update over the whole buffer must leave alone.
template <class Layer>
inline constexpr std::size_t trained_size_of = [] {
    if constexpr (requires { Layer::trained_size; })
        return std::size_t{Layer::trained_size};
    else
        return std::size_t{Layer::storage_size};
}();

// Calls f(offset, count) for each run of a layer's slice that an optimizer
// trains, its offsets counted from `at`: the first trained_size_of scalars, or,
// for a layer that holds others (a composite), the runs it names itself with a
// static for_trained_runs(at, f).
template <class Layer, class F>
constexpr void for_trained_runs(std::size_t at, F&& f) {
    if constexpr (requires(F & g) { Layer::for_trained_runs(std::size_t{}, g); })
        Layer::for_trained_runs(at, f);
    else
        f(at, trained_size_of<Layer>);
}

// Stands for "no layer here" at the ends of a network, and everywhere when unfused.
struct no_layer {};

// The contract's members, as diagnostics name them.
namespace member {
struct spec {};
struct in_shape {};
struct out_shape {};
struct param_count {};
struct storage_size {};
struct is_view {};
struct passes_gradient {};
struct flops_per_example {};
struct initialize {};
struct forward {};
struct backward_input {};
struct backward_params {};
struct stateful_backward {};
struct forward_sums {};
struct backward_sums {};
struct backward_partials {};
struct combine_partials {};
} // namespace member

namespace contract {
// What the concepts call the passes with.
using scalar = float;
struct sink {
    template <std::size_t Lanes, class Register>
    void gradient(std::size_t, const Register&) noexcept {}
    sink shifted(std::size_t) const noexcept { return {}; }
};
} // namespace contract

template <class Spec>
concept layer_spec = requires {
    { Spec::name() } -> std::convertible_to<std::string>;
    typename Spec::template bind<shape<1>, 1, no_layer, no_layer>;
};

template <class Layer>
concept stateful_layer = requires {
    Layer::saved_per_example;
};

namespace detail {
template <class Layer>
consteval auto find_missing_pass() {
    using S = contract::scalar;
    if constexpr (!requires { typename Layer::spec; })
        return std::type_identity<member::spec>{};
    else if constexpr (!requires { typename Layer::in_shape; })
        return std::type_identity<member::in_shape>{};
    else if constexpr (!requires { typename Layer::out_shape; })
        return std::type_identity<member::out_shape>{};
    else if constexpr (!requires { std::size_t{Layer::param_count}; })
        return std::type_identity<member::param_count>{};
    else if constexpr (!requires { std::size_t{Layer::storage_size}; })
        return std::type_identity<member::storage_size>{};
    else if constexpr (!requires { bool{Layer::is_view}; })
        return std::type_identity<member::is_view>{};
    else if constexpr (!requires { bool{Layer::passes_gradient}; })
        return std::type_identity<member::passes_gradient>{};
    else if constexpr (!requires { std::size_t{Layer::flops_per_example}; })
        return std::type_identity<member::flops_per_example>{};
    else if constexpr (!requires(S * p, rng & r) { Layer::initialize(p, r, init::normal{}); })
        return std::type_identity<member::initialize>{};
    else if constexpr (stateful_layer<Layer> && mode_reading_layer<Layer>) {
        if constexpr (!requires(const S* c, S* p, std::size_t n) {
                          Layer::forward(c, c, p, p, n, pass_mode{});
                      })
            return std::type_identity<member::forward>{};
        else if constexpr (!requires(const S* c, S* p, std::size_t n, contract::sink& k) {
                               Layer::backward(c, p, c, c, p, c, p, n, k, pass_mode{});
                           })
            return std::type_identity<member::stateful_backward>{};
        else
            return std::type_identity<void>{};
    } else if constexpr (stateful_layer<Layer>) {
        if constexpr (!requires(const S* c, S* p, std::size_t n) { Layer::forward(c, c, p, p, n); })
            return std::type_identity<member::forward>{};
        else if constexpr (!requires(const S* c, S* p, std::size_t n, contract::sink& k) {
                               Layer::backward(c, p, c, c, p, c, p, n, k);
                           })
            return std::type_identity<member::stateful_backward>{};
        else
            return std::type_identity<void>{};
    } else if constexpr (summing_layer<Layer>) {
        constexpr work_share w{};
        constexpr pass_mode m{};
        if constexpr (!requires(const S* c, S* p, std::size_t n) {
                          Layer::forward_sums(c, c, p, n, w, m);
                      })
            return std::type_identity<member::forward_sums>{};
        else if constexpr (!requires(const S* c, S* p, std::size_t n) {
                               Layer::forward(c, c, p, p, n, w, m);
                           })
            return std::type_identity<member::forward>{};
        else if constexpr (!requires(const S* c, S* p, std::size_t n) {
                               Layer::backward_sums(c, c, c, p, n, w, m);
                           })
            return std::type_identity<member::backward_sums>{};
        else if constexpr (!requires(const S* c, S* p, std::size_t n) {
                               Layer::backward_input(c, p, c, c, c, p, p, n, w, m);
                           })
            return std::type_identity<member::backward_input>{};
        else if constexpr (Layer::param_count != 0 &&
                           !requires(const S* c, S* p, std::size_t n, contract::sink& k) {
                               Layer::backward_params(c, p, c, c, c, n, k, w, m);
                           })
            return std::type_identity<member::backward_params>{};
        else
            return std::type_identity<void>{};
    } else if constexpr (mode_reading_layer<Layer>) {
        if constexpr (!Layer::is_view && !requires(const S* c, S* p, std::size_t n) {
                          Layer::forward(c, c, p, n, work_share{}, pass_mode{});
                      })
            return std::type_identity<member::forward>{};
        else if constexpr (!Layer::passes_gradient &&
                           !requires(const S* c, S* p, std::size_t n) {
                               Layer::backward_input(c, c, c, c, p, n, work_share{}, pass_mode{});
                           } &&
                           !(input_pass_writing_scratch<Layer> &&
                             requires(const S* c, S* p, std::size_t n) {
                                 Layer::backward_input(c, p, c, c, c, p, n, work_share{},
                                                       pass_mode{});
                             }))
            return std::type_identity<member::backward_input>{};
        else if constexpr (Layer::param_count != 0 &&
                           !requires(const S* c, S* p, std::size_t n, contract::sink& k) {
                               Layer::backward_params(c, p, c, c, c, n, k, work_share{},
                                                      pass_mode{});
                           })
            return std::type_identity<member::backward_params>{};
        else
            return std::type_identity<void>{};
    } else if constexpr (!Layer::is_view && !requires(const S* c, S* p, std::size_t n) {
                             Layer::forward(c, c, p, n, work_share{});
                         })
        return std::type_identity<member::forward>{};
    else if constexpr (!Layer::passes_gradient &&
                       !requires(const S* c, S* p, std::size_t n) {
                           Layer::backward_input(c, c, c, c, p, n, work_share{});
                       } &&
                       !(input_pass_writing_scratch<Layer> &&
                         requires(const S* c, S* p, std::size_t n) {
                             Layer::backward_input(c, p, c, c, c, p, n, work_share{});
                         }))
        return std::type_identity<member::backward_input>{};
    else if constexpr (Layer::param_count != 0 &&
                       !requires(const S* c, S* p, std::size_t n, contract::sink& k) {
                           Layer::backward_params(c, p, c, c, c, n, k, work_share{});
                       })
        return std::type_identity<member::backward_params>{};
    else
        return std::type_identity<void>{};
}

template <class Layer>
consteval auto find_missing_member() {
    using S = contract::scalar;
    using missing_pass = typename decltype(find_missing_pass<Layer>())::type;
    if constexpr (!std::is_void_v<missing_pass> || !partial_summing_layer<Layer>)
        return std::type_identity<missing_pass>{};
    else if constexpr (!requires(const S* c, S* p, std::size_t n, contract::sink& k) {
                           Layer::backward_partials(c, p, c, c, c, p, n, k, work_share{});
                       })
        return std::type_identity<member::backward_partials>{};
    else if constexpr (!requires(const S* c, std::size_t n, contract::sink& k) {
                           Layer::combine_partials(c, n, k, work_share{});
                       })
        return std::type_identity<member::combine_partials>{};
    else
        return std::type_identity<void>{};
}
} // namespace detail

// The first member of the contract that the bound layer lacks, as a kiln::member
// type, or void.
template <class Layer>
using missing_member = typename decltype(detail::find_missing_member<Layer>())::type;

// A bound layer that keeps the whole contract.
template <class Layer>
concept bound_layer = std::is_void_v<missing_member<Layer>>;

// What every bound layer states in the same way; layers derive from it and
// override what differs.
template <class Spec, class In, class Out, std::size_t Position>
struct layer_base {
    using spec = Spec;
    using in_shape = In;
    using out_shape = Out;
    static constexpr std::size_t position = Position;
    using broken_rule = no_broken_rule;
    static constexpr bool valid = true;
    static constexpr bool is_view = false;
    static constexpr bool passes_gradient = false;
    static constexpr std::size_t flops_per_example = 0;
};

// Base for a bound layer without parameters.
template <class Spec, class In, class Out, std::size_t Position>
struct parameterless_layer : layer_base<Spec, In, Out, Position> {
    static constexpr std::size_t param_count = 0;
    static constexpr std::size_t storage_size = 0;
    template <class T, class Scheme>
    static void initialize(T*, rng&, const Scheme&) {}
};

// Base for a bound layer with Count parameters in one slice.
template <class Spec, class In, class Out, std::size_t Position, std::size_t Count>
struct parametric_layer : layer_base<Spec, In, Out, Position> {
    static constexpr std::size_t param_count = Count;
    static constexpr std::size_t storage_size = padded_count(Count);
};

} // namespace kiln
