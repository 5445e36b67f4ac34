#pragma once
// kiln::input<Dims...> and kiln::sequential<input, layers...>: a network as a type.
// Binding each layer spec to the shape the previous one produces is the whole
// shape inference; it happens when the network type is used.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/type_list.hpp"
#include "kiln/graph/layer_rows.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/graph/runner.hpp"
#include "kiln/graph/token_ids_rule.hpp"
#include "kiln/graph/visit.hpp"
#include "kiln/layers/layer.hpp"

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

// A type that declares a whole network (sequential, unfused_sequential).
template <class T>
concept is_network = requires {
    typename T::input_spec;
    typename T::layers;
};

namespace error {
template <class Layer, class Missing>
struct layer_breaks_the_contract {
    static void report() {
        static_assert(facts_of_the_error<Layer, Missing>,
                      "kiln: the layer 'Layer' breaks the layer contract: once bound it lacks "
                      "the member 'Missing' (or has it with another signature). Fix: give the "
                      "bound layer that member as include/kiln/layers/layer.hpp describes, or "
                      "derive it from kiln::parameterless_layer / kiln::parametric_layer.");
    }
};
template <class Layer>
struct not_a_layer {
    static void report() {
        static_assert(facts_of_the_error<Layer>,
                      "kiln: the type at this place of the network is not a layer: it has no "
                      "static name() and no member template bind<In, Position, Previous, Next>. "
                      "Fix: use a kiln layer (kiln::linear<64>, kiln::relu, ...) or give your "
                      "type the contract of include/kiln/layers/layer.hpp.");
    }
};
template <class Layer>
struct network_used_as_a_layer {
    static void report() {
        static_assert(facts_of_the_error<Layer>,
                      "kiln: a whole network (kiln::sequential<kiln::input<...>, ...>) stands "
                      "where a layer belongs; a network has its own input and is not a layer. "
                      "Fix: list its layers in place, or group them without an input as "
                      "kiln::block<layers...>.");
    }
};
} // namespace error

namespace detail {
template <class... Specs>
struct first_spec {
    using type = no_layer;
};
template <class Spec, class... Rest>
struct first_spec<Spec, Rest...> {
    using type = Spec;
};

// A bound layer's first broken rule (layers/layer.hpp); none when it states none.
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

// What stands in for a spec that is not a layer, or a bound layer that breaks the
// contract, once that is reported: it passes its input on and adds no errors.
template <class Spec, class In, std::size_t Position>
struct placeholder_layer : parameterless_layer<Spec, In, In, Position> {
    static constexpr bool is_view = true;
    static constexpr bool passes_gradient = true;
};

// Spec bound at Position, checked against the layer contract (layers/layer.hpp).
template <class Spec, class In, std::size_t Position, class Previous, class Next>
struct checked_bind {
    using type = placeholder_layer<Spec, In, Position>;
    using broken_rule =
        rule<false, std::conditional_t<is_network<Spec>,
                                       error::network_used_as_a_layer<layer<Position, Spec>>,
                                       error::not_a_layer<layer<Position, Spec>>>>;
};
template <layer_spec Spec, class In, std::size_t Position, class Previous, class Next>
struct checked_bind<Spec, In, Position, Previous, Next> {
    using bound = typename Spec::template bind<In, Position, Previous, Next>;
    using missing = missing_member<bound>;
    using type =
        std::conditional_t<std::is_void_v<missing>, bound, placeholder_layer<Spec, In, Position>>;
    using broken_rule =
        first_broken<rule<std::is_void_v<missing>,
                          error::layer_breaks_the_contract<layer<Position, Spec>, missing>>,
                     typename broken_rule_of<bound>::type>;
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
    using checked =
        checked_bind<Spec, typename token_check::input, Position,
                     std::conditional_t<Fuse, Previous, no_layer>,
                     std::conditional_t<Fuse, typename first_spec<Rest...>::type, no_layer>>;
    using bound = typename checked::type;
    using rest = bind_chain<Fuse, typename bound::out_shape, Position + 1, Spec, Rest...>;
    using layers = prepend_t<bound, typename rest::layers>;
    using out_shape = typename rest::out_shape;
    using broken_rule = first_broken<typename token_check::broken_rule,
                                     typename checked::broken_rule, typename rest::broken_rule>;
};

} // namespace detail

namespace detail {
// Whether any of Layers reads the mode, or needs the whole batch.
template <class Layers>
struct any_layer;
template <class... Layers>
struct any_layer<type_list<Layers...>> {
    static constexpr bool reads_mode = (mode_reading_layer<Layers> || ...);
    static constexpr bool needs_whole_batch = (kiln::needs_whole_batch<Layers> || ...);
};
} // namespace detail

// Specs bound in order inside a composite layer (residual, repeat), with the same
// fusion rules between neighbours, positions counted from 1 within it: a runner
// (graph/runner.hpp) with the rules its layers break. It reads the mode when a
// layer in it does (dropout, batch_norm), and needs the whole batch when one does.
template <class In, class... Specs>
struct inner_network
    : runner<In, typename detail::bind_chain<true, In, 1, no_layer, Specs...>::layers> {
    using chain = detail::bind_chain<true, In, 1, no_layer, Specs...>;
    using broken_rule = typename chain::broken_rule;
    static constexpr bool valid = broken_rule::holds;
    static constexpr bool reads_mode = detail::any_layer<typename chain::layers>::reads_mode;
    static constexpr bool needs_whole_batch =
        detail::any_layer<typename chain::layers>::needs_whole_batch;
};

namespace detail {
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

    // Where every layer's parameters and outputs live, and forward and backward.
    using network_runner = runner<bound_input, layers>;
    static constexpr std::size_t param_count = network_runner::param_count;

    // A Keras-like table: position, layer, output shape, parameters. The layers
    // inside a composite follow it, indented, with their path ("3 > copy 2 > 1").
    [[gnu::cold]] static std::string summary() {
        return layer_summary(Input::name(), input_shape::to_string(),
                             layer_rows<basic_sequential>(), param_count);
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
