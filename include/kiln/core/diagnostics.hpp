#pragma once
// The machinery behind kiln's compile-time errors.
//
// A diagnostic is a struct template in kiln::error whose name says what is wrong
// and whose template parameters carry the facts (the layer's position and name,
// the shape it got, the shape it needs). Its static `report()` holds a
// static_assert with the fix in words. Reporting takes the address of `report`,
// so the compiler instantiates it and prints the struct with its facts: g++ as
// "In instantiation of ... [with Layer = kiln::layer<3, kiln::linear<10>>; Got =
// kiln::shape<28, 10>; ...]", clang++ in the static_assert's requirement. Because
// the failure sits in a function body, the surrounding class stays valid and one
// mistake yields one error, not a cascade.
//
// The budget every diagnostic keeps (test/compile_fail/run.py checks it): the
// first `error:` is kiln's, the facts and the fix come within 10 lines, the whole
// output within 25. g++ prints one "required from" line per template between the
// user's code and the report, so a rule is reported from as few levels as possible:
// layers state their rules as data (kiln::rule), and the network reports the first
// broken one from its own body (graph/sequential.hpp).
#include <cstddef>
#include <type_traits>

namespace kiln {

// Names a layer in diagnostics: its position in the network (the input is 0) and
// the spec the user wrote. A layer inside a composite is named by its path:
//   layer<3, repeat<4, ...>, copy<2>, layer<1, causal_self_attention<6>>>
// reads "layer 3, a repeat, its copy 2, and there layer 1, the attention".
template <std::size_t Position, class Spec, class... Inside>
struct layer {};
// A step of a path: the K-th copy (from 1) of kiln::repeat's layers.
template <std::size_t K>
struct copy {};

namespace error {
// Always false, but only once the facts are known: a static_assert on it fires
// when its diagnostic is instantiated, and clang++ prints the facts it names.
template <class... Facts>
inline constexpr bool facts_of_the_error = false;
} // namespace error

// A rule a network must keep, stated without reporting anything: when Holds is
// false, Diagnostic is what to tell the user.
template <bool Holds, class Diagnostic>
struct rule {
    static constexpr bool holds = Holds;
    using diagnostic = Diagnostic;
};
using no_broken_rule = rule<true, void>;

namespace detail {
template <class... Rules>
struct find_broken {
    using type = no_broken_rule;
};
template <class Rule, class... Rest>
struct find_broken<Rule, Rest...> {
    using type = std::conditional_t<Rule::holds, typename find_broken<Rest...>::type, Rule>;
};
} // namespace detail

// The first rule that does not hold, or no_broken_rule. Later rules may assume the
// earlier ones hold: only the first broken one is reported.
template <class... Rules>
using first_broken = typename detail::find_broken<Rules...>::type;

// True when Rule holds; otherwise reports its diagnostic and is false, so callers
// can skip work that would only add follow-on errors. (A partial specialization,
// not a helper class, keeps g++'s "required from" chain one line shorter.)
template <class Rule>
inline constexpr bool enforce = true;
template <class Diagnostic>
inline constexpr bool enforce<rule<false, Diagnostic>> = &Diagnostic::report == nullptr;

// The same for one condition: true when Ok, else reports Diagnostic.
template <bool Ok, class Diagnostic>
inline constexpr bool require = true;
template <class Diagnostic>
inline constexpr bool require<false, Diagnostic> = &Diagnostic::report == nullptr;

namespace detail {
// A fact of a diagnostic, as seen from outside the composite named by Where...:
// a layer fact gains the path; other facts stay as they are.
template <class Fact, class... Where>
struct locate_fact {
    using type = Fact;
};
template <std::size_t Position, class Spec, class... Inside, std::size_t Outer, class OuterSpec,
          class... Steps>
struct locate_fact<layer<Position, Spec, Inside...>, layer<Outer, OuterSpec>, Steps...> {
    using type = layer<Outer, OuterSpec, Steps..., layer<Position, Spec, Inside...>>;
};
template <class Diagnostic, class... Where>
struct locate_diagnostic {
    using type = Diagnostic;
};
template <template <class...> class Diagnostic, class... Facts, class... Where>
struct locate_diagnostic<Diagnostic<Facts...>, Where...> {
    using type = Diagnostic<typename locate_fact<Facts, Where...>::type...>;
};
} // namespace detail

// Rule, broken inside a composite, as its enclosing network reports it: the
// layers its diagnostic names carry the path Where... (the composite's
// layer<Position, Spec>, then steps such as copy<K>).
template <class Rule, class... Where>
using located_rule =
    rule<Rule::holds,
         typename detail::locate_diagnostic<typename Rule::diagnostic, Where...>::type>;

// `static_assert(kiln::checked(enforce<...>))` makes a class or function evaluate a
// check (class members are otherwise instantiated lazily) without adding a
// second error of its own when the check fails.
constexpr bool checked(bool) {
    return true;
}

} // namespace kiln
