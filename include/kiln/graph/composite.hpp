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

    template <class T, class Scheme>
    static void initialize(T* params, rng& random, const Scheme& scheme) {
        Inner::initialize(params, random, scheme);
    }
};

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
        static void forward(const T* params, const T* x, T* y, T* saved,
                            std::size_t batch) noexcept {
            const T* const last = body::forward(params, x, saved, batch);
            if (last != y) std::copy_n(last, batch * bind::out_shape::size, y);
        }
        template <class T, class Sink>
        static void backward(const T* params, T* scratch, const T* x, const T*, T* saved,
                             const T* dy, T* dx, std::size_t batch, Sink& sink) noexcept {
            body::backward(params, scratch, x, saved, dy, dx, batch, sink);
        }
    };
};

} // namespace kiln
