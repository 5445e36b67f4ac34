#pragma once
// kiln::type_list: a list of types that is never instantiated as an object. A
// network's bound layers live in one. std::tuple and std::tuple_cat did this job
// before and cost a fifth of type-checking a network: building a tuple type
// instantiates its constructors' constraints, which nobody here calls.
#include <cstddef>
#include <utility>

namespace kiln {

template <class... Types>
struct type_list {};

// type_list<T, Types...>
template <class T, class List>
struct prepend;
template <class T, class... Types>
struct prepend<T, type_list<Types...>> {
    using type = type_list<T, Types...>;
};
template <class T, class List>
using prepend_t = typename prepend<T, List>::type;

namespace detail {
template <std::size_t I, class T>
struct indexed_type {
    using type = T;
};
template <class Indices, class... Types>
struct indexed_types;
template <std::size_t... I, class... Types>
struct indexed_types<std::index_sequence<I...>, Types...> : indexed_type<I, Types>... {};
// Overload resolution picks the one base indexed I: no recursion over the list.
template <std::size_t I, class T>
indexed_type<I, T> select_indexed(const indexed_type<I, T>&);

template <std::size_t I, class List>
struct type_at;
template <std::size_t I, class... Types>
struct type_at<I, type_list<Types...>> {
    static_assert(I < sizeof...(Types), "kiln: type_at past the end of a type_list");
    using type = typename decltype(select_indexed<I>(
        std::declval<indexed_types<std::index_sequence_for<Types...>, Types...>>()))::type;
};
} // namespace detail

// The I-th type (from 0) of a type_list.
template <std::size_t I, class List>
using type_at = typename detail::type_at<I, List>::type;

} // namespace kiln
