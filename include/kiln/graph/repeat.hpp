#pragma once
// kiln::repeat<N, Specs...>: the layers Specs... N times in a row, each copy with
// its own parameters (the transformer's blocks). Copies that keep the shape are
// one body run N times; others are bound in a row as one inner network. The last
// copy's output is copied out as the repeat's.
#include "kiln/core/type_list.hpp"
#include "kiln/graph/composite.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/layers/linear.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <type_traits>

namespace kiln {

namespace detail {
template <std::size_t N, class List, class... Specs>
struct repeated;
template <class... Done, class... Specs>
struct repeated<0, type_list<Done...>, Specs...> {
    using type = type_list<Done...>;
};
template <std::size_t N, class... Done, class... Specs>
struct repeated<N, type_list<Done...>, Specs...> {
    using type = typename repeated<N - 1, type_list<Done..., Specs...>, Specs...>::type;
};

template <class In, class List>
struct inner_network_of;
template <class In, class... Specs>
struct inner_network_of<In, type_list<Specs...>> {
    using type = inner_network<In, Specs...>;
};

// N copies of a body that keeps its input's shape, compiled once and run N times,
// each copy on its own part of the parameters and of the saved state (the same
// layout as N bound copies in a row). Bound in a row, the transformer's four
// blocks were four sets of types and functions, per sweep configuration.
template <std::size_t N, class Body, class In>
struct looped_copies {
    using body = Body;
    static constexpr std::size_t copies = N;
    using out_shape = In;
    static constexpr std::size_t param_count = N * Body::param_count;
    static constexpr std::size_t storage_size = N * Body::storage_size;
    // Per example: each copy's saved slot, then two buffers for the gradients
    // between copies.
    static constexpr std::size_t gradient_offset = N * Body::saved_per_example;
    static constexpr std::size_t saved_per_example = gradient_offset + 2 * padded_count(In::size);

    template <class T, class Scheme>
    static void initialize(T* params, rng& random, const Scheme& scheme) {
        for (std::size_t k = 0; k < N; ++k)
            Body::initialize(params + k * Body::storage_size, random, scheme);
    }

    static constexpr bool reads_mode = Body::reads_mode;
    static constexpr bool needs_whole_batch = Body::needs_whole_batch;
    template <class F>
    static constexpr void for_trained_runs(std::size_t at, F&& f) {
        for (std::size_t k = 0; k < N; ++k)
            Body::for_trained_runs(at + k * Body::storage_size, f);
    }

    // Returns where the last copy's output is. As runner's forward and backward,
    // with the mode each copy's own (composite.hpp's mode_inside).
    template <class T>
    static const T* forward(const T* params, const T* x, T* saved, std::size_t batch,
                            on_this_core = {}, const pass_mode& mode = {}) noexcept {
        const T* current = x;
        for (std::size_t k = 0; k < N; ++k)
            current = Body::forward(params + k * Body::storage_size, current,
                                    saved + batch * k * Body::saved_per_example, batch,
                                    on_this_core{}, mode_inside(mode, k));
        return current;
    }

    template <class T, class Sink>
    static void backward(const T* params, T* scratch, const T* x, T* saved, const T* dy, T* dx,
                         std::size_t batch, Sink& sink, on_this_core = {},
                         const pass_mode& mode = {}) noexcept {
        const T* inputs[N]; // copy k's input: copy k - 1's output, where forward left it
        inputs[0] = x;
        for (std::size_t k = 1; k < N; ++k)
            inputs[k] = Body::result(saved + batch * (k - 1) * Body::saved_per_example,
                                     inputs[k - 1], batch);
        T* const buffers[2] = {saved + batch * gradient_offset,
                               saved + batch * (gradient_offset + padded_count(In::size))};
        const T* current = dy;
        for (std::size_t k = N; k-- > 0;) {
            T* const into = k == 0 ? dx : buffers[k % 2];
            auto part = sink.shifted(k * Body::storage_size);
            Body::backward(params + k * Body::storage_size, scratch + k * Body::storage_size,
                           inputs[k], saved + batch * k * Body::saved_per_example, current, into,
                           batch, part, on_this_core{}, mode_inside(mode, k));
            current = into;
        }
    }
};

// A layer fact of a mistake in N copies bound in a row, each PerCopy layers,
// renamed to the copy and the place in it: layer<P, repeat, copy<c>, layer<p, ...>>.
template <class Fact, class Where, std::size_t PerCopy>
struct locate_in_copies {
    using type = Fact;
};
template <std::size_t P, class Spec, class... Inside, std::size_t Outer, class OuterSpec,
          std::size_t PerCopy>
struct locate_in_copies<layer<P, Spec, Inside...>, layer<Outer, OuterSpec>, PerCopy> {
    using type = layer<Outer, OuterSpec, copy<(P - 1) / PerCopy + 1>,
                       layer<(P - 1) % PerCopy + 1, Spec, Inside...>>;
};
template <class Rule, class Where, std::size_t PerCopy>
struct located_in_copies {
    using type = Rule;
};
template <bool Holds, template <class...> class Diagnostic, class... Facts, class Where,
          std::size_t PerCopy>
struct located_in_copies<rule<Holds, Diagnostic<Facts...>>, Where, PerCopy> {
    using type = rule<Holds, Diagnostic<typename locate_in_copies<Facts, Where, PerCopy>::type...>>;
};

// The copies as one body run N times when it keeps the shape (a copy's input is
// then the same shape for every copy); else bound in a row, each copy after the
// one before. broken_rule names the copy and the place in it.
template <std::size_t N, class In, class Where, class... Specs>
struct repeat_copies {
    using body = inner_network<In, Specs...>;
    static constexpr bool looped =
        N > 1 && body::valid&& std::is_same_v<typename body::out_shape, In>;
    using in_a_row =
        typename inner_network_of<In, typename repeated<N, type_list<>, Specs...>::type>::type;
    using type = std::conditional_t<looped, looped_copies<N, body, In>, in_a_row>;
    using broken_rule = std::conditional_t<
        looped || N == 0, located_rule<typename body::broken_rule, Where, copy<1>>,
        typename located_in_copies<typename in_a_row::broken_rule, Where, sizeof...(Specs)>::type>;
};
} // namespace detail

template <std::size_t N, class... Specs>
struct repeat {
    static std::string name() {
        return "repeat<" + std::to_string(N) + ", " + spec_names<Specs...>() + ">";
    }
    // Token ids reach the first copy's first layer (graph/token_ids_rule.hpp).
    static constexpr bool passes_its_input_inside = true;

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind
        : composite_layer<
              repeat, In, Position,
              typename detail::repeat_copies<N, In, layer<Position, repeat>, Specs...>::type> {
        using plan = detail::repeat_copies<N, In, layer<Position, repeat>, Specs...>;
        using copies = typename plan::type;
        using broken_rule =
            first_broken<rule<N != 0, error::layer_size_is_zero<layer<Position, repeat>>>,
                         typename plan::broken_rule>;
        static constexpr bool valid = broken_rule::holds;
        // Copies bound in a row: each takes this many of the inner network's layers.
        static constexpr std::size_t layers_per_copy = sizeof...(Specs);

        template <class T>
        static void forward(const T* params, const T* x, T* y, T* saved, std::size_t batch,
                            const pass_mode& mode = {}) noexcept {
            const T* const last = copies::forward(params, x, saved, batch, on_this_core{},
                                                  mode_inside(mode, Position));
            std::copy_n(last, batch * bind::out_shape::size, y);
        }

        template <class T, class Sink>
        static void backward(const T* params, T* scratch, const T* x, const T*, T* saved,
                             const T* dy, T* dx, std::size_t batch, Sink& sink,
                             const pass_mode& mode = {}) noexcept {
            copies::backward(params, scratch, x, saved, dy, dx, batch, sink, on_this_core{},
                             mode_inside(mode, Position));
        }
    };
};

} // namespace kiln
