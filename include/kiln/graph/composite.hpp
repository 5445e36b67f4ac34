#pragma once
// What a composite layer (kiln::block, residual, repeat) shares: a network of
// layer specs bound inside it (kiln::inner_network, graph/sequential.hpp), run by
// the same runner as a whole network (graph/runner.hpp). Its parameters are its
// slice of the network's; everything the inner network keeps between forward and
// backward is the composite's saved state, so a composite is a stateful layer.
//
// kiln::block<Specs...> is the plainest composite: Specs as one layer, to name a
// group of layers once and use it in several networks.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/rng.hpp"
#include "kiln/graph/sequential.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln {

// "layer_norm, linear<256>": the specs' names, for a composite's name.
template <class... Specs>
std::string spec_names() {
    std::string text;
    ((text += (text.empty() ? "" : ", ") + Specs::name()), ...);
    return text;
}

// What a composite layer states about itself: everything but its rules and its
// passes comes from its Inner network. A composite reports its inner network's
// mistakes with its own place in front (core/diagnostics.hpp's located_rule).
template <class Spec, class In, std::size_t Position, class Inner>
struct composite_layer : layer_base<Spec, In, typename Inner::out_shape, Position> {
    using inner = Inner;
    static constexpr std::size_t param_count = Inner::param_count;
    static constexpr std::size_t storage_size = Inner::storage_size;
    static constexpr std::size_t saved_per_example = Inner::saved_per_example;
    // With dropout or batch_norm inside, the runner hands the composite the mode
    // (layers/layer.hpp), and a trainer never splits its batch.
    static constexpr bool reads_mode = Inner::reads_mode;
    static constexpr bool needs_whole_batch = Inner::needs_whole_batch;
    // batch_norm's running statistics inside are no optimizer's to update.
    template <class F>
    static constexpr void for_trained_runs(std::size_t at, F&& f) {
        Inner::for_trained_runs(at, f);
    }

    template <class T, class Scheme>
    static void initialize(T* params, rng& random, const Scheme& scheme) {
        Inner::initialize(params, random, scheme);
    }
};

// The mode a composite's inner layers run in: the step's, with a seed of their
// own for each place (the composite's position, a copy's number), so that a
// dropout inside draws masks unlike those of a dropout at the same position
// outside or in another copy.
inline pass_mode mode_inside(const pass_mode& mode, std::size_t place) noexcept {
    pass_mode inner = mode;
    inner.seed = mode.seed ^ (0x9e3779b97f4a7c15ULL * (std::uint64_t{place} + 1));
    return inner;
}

template <class... Specs>
struct block {
    static std::string name() { return "block<" + spec_names<Specs...>() + ">"; }
    // Token ids reach the first layer inside (graph/token_ids_rule.hpp).
    static constexpr bool passes_its_input_inside = true;

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : composite_layer<block, In, Position, inner_network<In, Specs...>> {
        using body = inner_network<In, Specs...>;
        using broken_rule = located_rule<typename body::broken_rule, layer<Position, block>>;
        static constexpr bool valid = broken_rule::holds;

        template <class T>
        static void forward(const T* params, const T* x, T* y, T* saved, std::size_t batch,
                            const pass_mode& mode = {}) noexcept {
            const T* const last =
                body::forward(params, x, saved, batch, on_this_core{}, mode_inside(mode, Position));
            if (last != y) std::copy_n(last, batch * bind::out_shape::size, y);
        }
        template <class T, class Sink>
        static void backward(const T* params, T* scratch, const T* x, const T*, T* saved,
                             const T* dy, T* dx, std::size_t batch, Sink& sink,
                             const pass_mode& mode = {}) noexcept {
            body::backward(params, scratch, x, saved, dy, dx, batch, sink, on_this_core{},
                           mode_inside(mode, Position));
        }
    };
};

} // namespace kiln
