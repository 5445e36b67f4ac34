#pragma once
// Who may read token ids: the rule kiln::sequential checks for every layer it
// binds (graph/sequential.hpp), and its diagnostics.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/shape.hpp"

#include <cstddef>

namespace kiln {

namespace error {
template <class Layer, class Got>
struct token_ids_need_a_lookup {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got>,
                      "kiln: the layer 'Layer' receives token ids ('Got', made by "
                      "kiln::tokens<Block, Vocab>), which only a lookup of their vocabulary may "
                      "read: any other layer would take the ids for numbers. Fix: look the ids up "
                      "first: put kiln::embedding<Vocab, Width> with the tokens' vocabulary right "
                      "after kiln::tokens<Block, Vocab>.");
    }
};
template <class Layer, class Got>
struct lookup_needs_token_ids {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got>,
                      "kiln: 'Layer' looks up token ids, but it receives shape 'Got': numbers, "
                      "not the ids of kiln::tokens, which it would read as rows of its table. "
                      "Fix: put the lookup right after the network's input of token ids, "
                      "kiln::tokens<Block, Vocab>; to map vectors, use kiln::linear.");
    }
};
template <class Layer, class Got, class Needs>
struct lookup_of_another_vocabulary {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: 'Layer' looks up ids of another vocabulary ('Needs') than the token "
                      "ids it receives ('Got'): it would read past its table, or never use part "
                      "of it. Fix: give the lookup the tokens' vocabulary, "
                      "kiln::embedding<Vocab, Width> after kiln::tokens<Block, Vocab>.");
    }
};
} // namespace error

// A layer that reads token ids (kiln::embedding) says so and names its vocabulary.
template <class Spec>
inline constexpr bool looks_up_token_ids = requires {
    Spec::looks_up_token_ids;
    Spec::vocabulary;
};

// A composite that hands its input to the layers inside it unread (kiln::block,
// kiln::repeat): the rule is checked there, at the layer that reads the ids.
template <class Spec>
inline constexpr bool passes_its_input_inside = requires {
    Spec::passes_its_input_inside;
};

namespace detail {
// Token ids (core/shape.hpp) may be read only by a lookup of their vocabulary, and a
// lookup reads nothing else. The chain checks this for every layer it binds (inside
// residual and repeat too, a user's own layers with the rest), so that no layer
// takes ids for numbers or numbers for ids. A layer that breaks the rule is bound
// to what it can read, plain values or placeholder ids, so it adds no errors.
template <class In, std::size_t Position, class Spec, bool Lookup = looks_up_token_ids<Spec>,
          bool Ids = is_token_ids<In> && !passes_its_input_inside<Spec>>
struct token_id_check {
    using input = In;
    using broken_rule = no_broken_rule;
};
template <class In, std::size_t Position, class Spec>
struct token_id_check<In, Position, Spec, true, true> {
    using input = In;
    using broken_rule =
        rule<Spec::vocabulary == In::vocabulary,
             error::lookup_of_another_vocabulary<layer<Position, Spec>, In,
                                                 token_ids<In::size, Spec::vocabulary>>>;
};
template <class In, std::size_t Position, class Spec>
struct token_id_check<In, Position, Spec, true, false> {
    using input = token_ids<In::size, Spec::vocabulary>;
    using broken_rule = rule<false, error::lookup_needs_token_ids<layer<Position, Spec>, In>>;
};
template <class In, std::size_t Position, class Spec>
struct token_id_check<In, Position, Spec, false, true> {
    using input = typename In::values;
    using broken_rule = rule<false, error::token_ids_need_a_lookup<layer<Position, Spec>, In>>;
};

} // namespace detail

} // namespace kiln
