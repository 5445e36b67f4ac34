#pragma once
// The machinery behind kiln's compile-time errors.
//
// A diagnostic is a struct template in kiln::error whose name says what is wrong
// and whose template parameters carry the facts (the layer's position and name,
// the shape it got, the shape it needs). Its static `report()` holds a
// static_assert with the fix in words. `kiln::require<ok, diagnostic>` takes the
// address of `report` only when `ok` is false, so the compiler instantiates it and
// prints the struct with its facts: g++ as "In instantiation of ... [with Layer =
// kiln::layer<3, kiln::linear<10>>; Got = kiln::shape<28, 10>; ...]", clang++ in
// the static_assert's requirement. Because the failure sits in a function body,
// the surrounding class stays valid and one mistake yields one error, not a cascade.
#include <cstddef>

namespace kiln {

// Names a layer in diagnostics: its position in the network (the input is 0) and
// the spec the user wrote.
template <std::size_t Position, class Spec>
struct layer {};

namespace error {
// Always false, but only once the facts are known: a static_assert on it fires
// when its diagnostic is instantiated, and clang++ prints the facts it names.
template <class... Facts>
inline constexpr bool facts_of_the_error = false;
} // namespace error

namespace detail {
template <bool Ok, class Diagnostic>
struct require {
    static constexpr bool value = true;
};
template <class Diagnostic>
struct require<false, Diagnostic> {
    // Taking report's address instantiates it; the result is false.
    static constexpr bool value = &Diagnostic::report == nullptr;
};
} // namespace detail

// True when Ok; otherwise reports Diagnostic and is false, so callers can skip
// work that would only add follow-on errors.
template <bool Ok, class Diagnostic>
inline constexpr bool require = detail::require<Ok, Diagnostic>::value;

// `static_assert(kiln::checked(require<...>))` makes a class or function evaluate a
// check (class members are otherwise instantiated lazily) without adding a
// second error of its own when the check fails.
constexpr bool checked(bool) {
    return true;
}

} // namespace kiln
