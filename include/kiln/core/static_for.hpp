#pragma once
// Compile-time loops: the one place that unrolls a loop over a count or a type
// list, so the rest of the code says what it does for each index or type, not how
// the pack is expanded.
//   static_for<N>(f)          f(index<0>), f(index<1>), ..., f(index<N - 1>)
//   static_for_reverse<N>(f)  the same from N - 1 down to 0
//   for_each_type<List>(f)    f(std::type_identity<T>{}) for each T of a type_list
//   static_sum<N>(f)          f(index<0>) + ... + f(index<N - 1>), as a std::size_t
// Each index is a std::integral_constant, so `constexpr std::size_t K = k;` works
// in the body and K can be a template argument.
#include "kiln/core/always_inline.hpp"
#include "kiln/core/type_list.hpp"

#include <cstddef>
#include <type_traits>
#include <utility>

namespace kiln {

template <std::size_t I>
using index_constant = std::integral_constant<std::size_t, I>;

template <std::size_t N, class F>
[[gnu::always_inline]] constexpr void static_for(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) KILN_ALWAYS_INLINE {
        (f(index_constant<I>{}), ...);
    }
    (std::make_index_sequence<N>{});
}

template <std::size_t N, class F>
[[gnu::always_inline]] constexpr void static_for_reverse(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) KILN_ALWAYS_INLINE {
        (f(index_constant<N - 1 - I>{}), ...);
    }
    (std::make_index_sequence<N>{});
}

template <class List>
struct for_each_type_of;
template <class... Types>
struct for_each_type_of<type_list<Types...>> {
    template <class F>
    static constexpr void run(F&& f) {
        (f(std::type_identity<Types>{}), ...);
    }
};
template <class List, class F>
constexpr void for_each_type(F&& f) {
    for_each_type_of<List>::run(f);
}

template <std::size_t N, class F>
constexpr std::size_t static_sum(F&& f) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return (std::size_t{0} + ... + static_cast<std::size_t>(f(index_constant<I>{})));
    }
    (std::make_index_sequence<N>{});
}

} // namespace kiln
