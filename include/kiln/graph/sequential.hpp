#pragma once
// kiln::input<Dims...> and kiln::sequential<input, layers...>: a network as a type.
// Binding each layer spec to the shape the previous one produces is the whole
// shape inference; it happens when the network type is used.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/type_list.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/graph/token_ids_rule.hpp"

#include <cstddef>
#include <cstdio>
#include <string>
#include <utility>

namespace kiln {

namespace error {
template <class Layer, class Got>
struct input_has_a_zero_dimension {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got>,
                      "kiln: kiln::input<...> has a dimension of size zero: an example must hold "
                      "at least one value. Fix: give every dimension of kiln::input a size of at "
                      "least 1.");
    }
};
template <class First>
struct sequential_must_start_with_input {
    static void report() {
        static_assert(facts_of_the_error<First>,
                      "kiln: kiln::sequential<...> must start with kiln::input<...> naming the "
                      "shape of one example (the type above is what it started with). Fix: write "
                      "kiln::sequential<kiln::input<784>, ...>.");
    }
};
template <class Asked, class Layers>
struct no_layer_at_this_position {
    static void report() {
        static_assert(facts_of_the_error<Asked, Layers>,
                      "kiln: the network has no layer at position 'Asked': its input is at "
                      "position 0 and its layers at 1 to 'Layers'. Fix: ask layer_t<I>, "
                      "parameters_of<I> or gradients_of<I> for a position from 1 to "
                      "Net::layer_count, shape_after<I> for one from 0 (the input's shape) to "
                      "Net::layer_count (the output's).");
    }
};
} // namespace error

// Positions in diagnostics: the one asked for, and the network's layer count.
template <std::size_t Position>
struct asked_position {};
template <std::size_t Count>
struct layers_in_network {};

// The shape of one example entering the network, e.g. input<784> or input<28, 28>.
template <std::size_t... Dims>
struct input {
    using shape_type = shape<Dims...>;
    static std::string name() { return "input<" + shape_type::dims_string() + ">"; }
};

template <class T>
inline constexpr bool is_input = false;
template <std::size_t... Dims>
inline constexpr bool is_input<input<Dims...>> = true;

namespace detail {
template <class... Specs>
struct first_spec {
    using type = no_layer;
};
template <class Spec, class... Rest>
struct first_spec<Spec, Rest...> {
    using type = Spec;
};

// A bound layer's first broken rule (layers/layer.hpp); a layer that reports its
// mistakes itself through `valid` has none here.
template <class Bound>
struct broken_rule_of {
    using type = no_broken_rule;
};
template <class Bound>
requires requires {
    typename Bound::broken_rule;
}
struct broken_rule_of<Bound> {
    using type = typename Bound::broken_rule;
};

// Binds Specs in order, each to the shape the one before produces and, when
// Fuse, to its neighbours (graph/lowering.hpp). broken_rule is the first rule a
// layer breaks; the network reports it (one mistake, one error).
template <bool Fuse, class In, std::size_t Position, class Previous, class... Specs>
struct bind_chain {
    using layers = type_list<>;
    using out_shape = In;
    using broken_rule = no_broken_rule;
};
template <bool Fuse, class In, std::size_t Position, class Previous, class Spec, class... Rest>
struct bind_chain<Fuse, In, Position, Previous, Spec, Rest...> {
    using token_check = token_id_check<In, Position, Spec>;
    using bound = typename Spec::template bind<
        typename token_check::input, Position, std::conditional_t<Fuse, Previous, no_layer>,
        std::conditional_t<Fuse, typename first_spec<Rest...>::type, no_layer>>;
    static_assert(checked(bound::valid));
    using rest = bind_chain<Fuse, typename bound::out_shape, Position + 1, Spec, Rest...>;
    using layers = prepend_t<bound, typename rest::layers>;
    using out_shape = typename rest::out_shape;
    using broken_rule =
        first_broken<typename token_check::broken_rule, typename broken_rule_of<bound>::type,
                     typename rest::broken_rule>;
};

template <class Input>
struct input_shape {
    using type = shape<1>; // placeholder after a reported error, to avoid follow-on ones
};
template <std::size_t... Dims>
struct input_shape<input<Dims...>> {
    using type = shape<Dims...>;
};

// What the first layer receives: the input's shape, except that kiln::tokens gives
// token ids (layers/tokens.hpp).
template <class Input>
struct first_layer_input {
    using type = typename input_shape<Input>::type;
};

// The I-th type of a list, named without being looked up: for a choice between
// types of which only the one chosen need exist.
template <std::size_t I, class List>
struct lazy_type_at {
    using type = kiln::type_at<I, List>;
};
} // namespace detail

template <bool Fuse, class Input, class... Specs>
struct basic_sequential {
    using input_shape = typename detail::input_shape<Input>::type;

private:
    // The layers see a one-value input after a mistake in the input, so they add none.
    using bound_input = std::conditional_t<input_shape::has_zero_dim, shape<1>,
                                           typename detail::first_layer_input<Input>::type>;
    using chain = detail::bind_chain<Fuse, bound_input, 1, no_layer, Specs...>;

public:
    // The first rule the network breaks: sequential and unfused_sequential report it.
    using broken_rule =
        first_broken<rule<is_input<Input>, error::sequential_must_start_with_input<Input>>,
                     rule<!input_shape::has_zero_dim,
                          error::input_has_a_zero_dimension<layer<0, Input>, input_shape>>,
                     typename chain::broken_rule>;
    static constexpr bool valid = broken_rule::holds;

    using input_spec = Input;
    using layers = typename chain::layers;
    using output_shape = typename chain::out_shape;
    static constexpr std::size_t layer_count = sizeof...(Specs);

private:
    // Position I's layer (First = 1) or, for shape_after, its output (First = 0); a
    // position past the end is reported, and stands for the last one after that.
    template <std::size_t I, std::size_t First>
    struct at_position {
        static constexpr bool exists = I >= First && I <= layer_count;
        static_assert(checked(
            require<exists, error::no_layer_at_this_position<asked_position<I>,
                                                             layers_in_network<layer_count>>>));
        using bound =
            typename std::conditional_t<exists && I != 0, detail::lazy_type_at<I - 1, layers>,
                                        std::type_identity<no_layer>>::type;
        template <class Layer>
        struct out {
            using type = typename Layer::out_shape;
        };
        using shape_type = typename std::conditional_t<
            exists && I != 0, out<bound>,
            std::type_identity<std::conditional_t<I == 0, input_shape, output_shape>>>::type;
    };

public:
    // layer_t<I>: the bound layer at position I (1 = the first after the input).
    template <std::size_t I>
    using layer_t = typename at_position<I, 1>::bound;
    // shape_after<I>: the shape of one example after layer I; shape_after<0> is the input's.
    template <std::size_t I>
    using shape_after = typename at_position<I, 0>::shape_type;

    static constexpr std::size_t param_count = []<std::size_t... I>(std::index_sequence<I...>) {
        return (std::size_t{0} + ... + type_at<I, layers>::param_count);
    }
    (std::make_index_sequence<layer_count>{});

    // A Keras-like table: position, layer, output shape, parameters.
    [[gnu::cold]] static std::string summary() {
        std::string text;
        auto row = [&](std::string position, std::string name, std::string out,
                       std::string params) {
            char line[160];
            std::snprintf(line, sizeof line, "%-5s %-22s %-18s %12s\n", position.c_str(),
                          name.c_str(), out.c_str(), params.c_str());
            text += line;
        };
        row("#", "layer", "output shape", "parameters");
        row("0", Input::name(), input_shape::to_string(), "0");
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (row(std::to_string(I + 1), type_at<I, layers>::spec::name(),
                 type_at<I, layers>::out_shape::to_string(),
                 std::to_string(type_at<I, layers>::param_count)),
             ...);
        }
        (std::make_index_sequence<layer_count>{});
        text += "total parameters: " + std::to_string(param_count) + "\n";
        return text;
    }
};

// A network: its layers bound in order, with the fusion rules of graph/lowering.hpp.
// The network reports its first broken rule from its own body, so that g++'s
// "required from" chain between the user's code and the error stays short.
template <class Input, class... Specs>
struct sequential : basic_sequential<true, Input, Specs...> {
    static_assert(checked(enforce<typename sequential::broken_rule>));
};

// The same network with every fusion off: each layer does its own work. Tests
// check the fused code against it.
template <class Input, class... Specs>
struct unfused_sequential : basic_sequential<false, Input, Specs...> {
    static_assert(checked(enforce<typename unfused_sequential::broken_rule>));
};

template <class T>
inline constexpr bool is_sequential = false;
template <class Input, class... Specs>
inline constexpr bool is_sequential<sequential<Input, Specs...>> = true;
template <class Input, class... Specs>
inline constexpr bool is_sequential<unfused_sequential<Input, Specs...>> = true;

} // namespace kiln
