#pragma once
// A loss bound to a network's output, and the rules the two keep together, which
// kiln::trainer, kiln::evaluate and kiln::evaluator report alike.
//
// A loss states its own rules about the logits (losses/*.hpp: broken_rule). One
// rule needs the network too: a loss that reads one vector per example
// (reads_one_vector) given an output of more axes. How to fix that depends on how
// the network made them, which only its layers tell: a sequence (token ids in,
// logits at every position) wants a sequence loss; an image, or any input of more
// than one axis, wants kiln::flatten before the first kiln::linear that received
// more than one axis (a linear maps only the last axis, so the others stay).
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/type_list.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/graph/sequential.hpp"
#include "kiln/layers/linear.hpp"
#include "kiln/losses/softmax_cross_entropy.hpp"

#include <cstddef>
#include <type_traits>

namespace kiln {

namespace error {
template <class Given>
struct not_a_loss {
    static void report() {
        static_assert(facts_of_the_error<Given>,
                      "kiln: 'Given' stands where the loss goes, but it is not a loss (a spec "
                      "with bind<Logits, LastLayer>, as kiln::softmax_cross_entropy). Fix: name "
                      "the loss second, before the optimizer: kiln::trainer<Net, "
                      "kiln::softmax_cross_entropy, kiln::adamw>, kiln::evaluator<Net, Loss>, "
                      "kiln::evaluate<Loss>(...).");
    }
};
template <class Loss, class LastLayer, class Got>
struct sequence_output_needs_a_sequence_loss {
    static void report() {
        static_assert(facts_of_the_error<Loss, LastLayer, Got>,
                      "kiln: 'Loss' scores one vector of logits per example, but this network's "
                      "output 'Got' (made by 'LastLayer') is a sequence: logits at every position, "
                      "as the network reads token ids or a sequence. Fix: use "
                      "kiln::sequence_cross_entropy, with a label per position (batch x "
                      "positions labels).");
    }
};
template <class Loss, class Layer, class Got>
struct flatten_missing_before_linear {
    static void report() {
        static_assert(facts_of_the_error<Loss, Layer, Got>,
                      "kiln: 'Loss' needs one vector per example, but the network's output has "
                      "shape 'Got': 'Layer' is the first kiln::linear to receive more than one "
                      "axis, and a linear maps only the last one (each pixel's or row's values), "
                      "so the others stay to the output. Fix: put kiln::flatten right before "
                      "'Layer', so that it sees one vector.");
    }
};
template <class Loss, class LastLayer, class Got>
struct output_is_not_one_vector {
    static void report() {
        static_assert(facts_of_the_error<Loss, LastLayer, Got>,
                      "kiln: 'Loss' needs one vector per example, but the network's last layer "
                      "'LastLayer' produces shape 'Got' (more than one axis). Fix: end the "
                      "network with kiln::flatten and a kiln::linear as wide as the classes.");
    }
};
} // namespace error

// A loss: a spec whose bind<Logits, LastLayer> is the loss bound to a network's
// output (a layer spec's bind takes a position, not a layer).
template <class Loss>
inline constexpr bool is_loss = requires {
    typename Loss::template bind<shape<1>, layer<1, no_layer>>;
};

namespace detail {
template <class Net, bool Empty = Net::layer_count == 0>
struct last_layer {
    using type = layer<Net::layer_count, typename Net::template layer_t<Net::layer_count>::spec>;
};
template <class Net>
struct last_layer<Net, true> {
    using type = layer<0, typename Net::input_spec>;
};
} // namespace detail

// The layer that made a network's output, as diagnostics name it.
template <class Net>
using last_layer_of = typename detail::last_layer<Net>::type;

// A bound loss that reads labels and predicts them: every loss but a regression,
// whose targets are real numbers with nothing to predict.
template <class LossType>
inline constexpr bool predicts_labels = requires {
    LossType::labels_per_example;
};

// The loss bound to a network's output, named by the network's last layer. What
// is not a loss is bound as softmax_cross_entropy after it is reported, so that
// it adds no errors of its own.
template <class Loss, class Net>
using bound_loss =
    typename std::conditional_t<is_loss<Loss>, Loss, softmax_cross_entropy>::template bind<
        typename Net::output_shape, last_layer_of<Net>>;

namespace detail {
template <class Spec>
inline constexpr bool is_linear = false;
template <std::size_t Out>
inline constexpr bool is_linear<linear<Out>> = true;
template <std::size_t Out>
inline constexpr bool is_linear<linear_no_bias<Out>> = true;

// A layer that reads its input as a sequence of positions says so (attention,
// add_position).
template <class Bound>
inline constexpr bool reads_a_sequence = requires {
    requires Bound::is_sequence;
};

template <class Net, class Layers>
struct output_story;
template <class Net, class... Bound>
struct output_story<Net, type_list<Bound...>> {
    // Token ids in, or a layer that reads a sequence: the output has a position axis.
    static constexpr bool is_sequence =
        is_token_ids<typename first_layer_input<typename Net::input_spec>::type> ||
        (reads_a_sequence<Bound> || ...);

    template <class... Rest>
    struct first_unflattened {
        using type = void;
    };
    template <class First, class... Rest>
    struct first_unflattened<First, Rest...> {
        using type =
            std::conditional_t<is_linear<typename First::spec> && (First::in_shape::rank > 1),
                               layer<First::position, typename First::spec>,
                               typename first_unflattened<Rest...>::type>;
    };
    // The first linear that received more than one axis, or void.
    using unflattened = typename first_unflattened<Bound...>::type;
};

// A loss that reads one vector per example says so (softmax_cross_entropy).
template <class Loss>
inline constexpr bool reads_one_vector_per_example = requires {
    requires Loss::reads_one_vector;
};

// The rule such a loss keeps with the network's output.
template <class Net, class Loss, bool OneVector = reads_one_vector_per_example<Loss>>
struct one_vector_rule {
    using type = no_broken_rule;
};
template <class Net, class Loss>
struct one_vector_rule<Net, Loss, true> {
    using output = typename Net::output_shape;
    using story = output_story<Net, typename Net::layers>;
    using last = last_layer_of<Net>;
    using type = rule<
        output::rank == 1,
        std::conditional_t<story::is_sequence && output::rank == 2,
                           error::sequence_output_needs_a_sequence_loss<Loss, last, output>,
                           std::conditional_t<std::is_void_v<typename story::unflattened>,
                                              error::output_is_not_one_vector<Loss, last, output>,
                                              error::flatten_missing_before_linear<
                                                  Loss, typename story::unflattened, output>>>>;
};

// Only a valid network's output is checked: a broken one has reported its mistake.
template <class Net, class Loss, bool Valid = Net::valid>
struct loss_rules {
    using type = no_broken_rule;
};
template <class Net, class Loss>
struct loss_rules<Net, Loss, true> {
    using type = first_broken<rule<is_loss<Loss>, error::not_a_loss<Loss>>,
                              typename one_vector_rule<Net, Loss>::type,
                              typename broken_rule_of<bound_loss<Loss, Net>>::type>;
};
} // namespace detail

// The rules a loss keeps with a network's output: it is a loss, it fits the
// output's axes, and it keeps its own rules.
template <class Net, class Loss>
using loss_rules = typename detail::loss_rules<Net, Loss>::type;

} // namespace kiln
