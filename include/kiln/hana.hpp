#pragma once
// Boost.Hana on networks. A kiln::type_list (a network's `layers`, or any list of
// types) is a Hana Iterable and Foldable whose elements are hana::type<T>, so
// hana::for_each, fold_left, length, at_c, find_if, any_of, count_if and the rest
// work on it; kiln::hana_layers<Net> is the same list as a hana::tuple, for the
// algorithms that build a new sequence (transform, filter, remove_if):
//
//   auto with_parameters = boost::hana::filter(kiln::hana_layers<mlp>, [](auto layer) {
//       return boost::hana::bool_c<decltype(layer)::type::param_count != 0>;
//   });
//
// kiln's own headers do not include Hana (docs/design.md: what it would cost to
// type-check every network); include this header to use it.
#include "kiln/core/type_list.hpp"

#include <boost/hana/at.hpp>
#include <boost/hana/core/tag_of.hpp>
#include <boost/hana/drop_front.hpp>
#include <boost/hana/fwd/unpack.hpp>
#include <boost/hana/integral_constant.hpp>
#include <boost/hana/is_empty.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>

#include <cstddef>
#include <utility>

namespace kiln {
struct type_list_tag {};

template <class Net>
inline constexpr auto hana_layers = []<class... Layers>(type_list<Layers...>) {
    return boost::hana::make_tuple(boost::hana::type_c<Layers>...);
}(typename Net::layers{});
} // namespace kiln

namespace boost::hana {

template <class... Types>
struct tag_of<kiln::type_list<Types...>> {
    using type = kiln::type_list_tag;
};

// Iterable: at, drop_front, is_empty.
template <>
struct at_impl<kiln::type_list_tag> {
    template <class List, class N>
    static constexpr auto apply(List&&, N const&) {
        return type_c<kiln::type_at<N::value, std::remove_cvref_t<List>>>;
    }
};
template <>
struct drop_front_impl<kiln::type_list_tag> {
    template <std::size_t N, class... Rest>
    static constexpr auto drop(kiln::type_list<Rest...>) {
        return kiln::type_list<Rest...>{};
    }
    template <std::size_t N, class First, class... Rest>
    requires(N > 0) static constexpr auto drop(kiln::type_list<First, Rest...>) {
        return drop<N - 1>(kiln::type_list<Rest...>{});
    }
    template <class List, class N>
    static constexpr auto apply(List&& list, N const&) {
        return drop<N::value>(list);
    }
};
template <>
struct is_empty_impl<kiln::type_list_tag> {
    template <class... Types>
    static constexpr auto apply(kiln::type_list<Types...>) {
        return bool_c<sizeof...(Types) == 0>;
    }
};

// Foldable: unpack.
template <>
struct unpack_impl<kiln::type_list_tag> {
    template <class... Types, class F>
    static constexpr decltype(auto) apply(kiln::type_list<Types...>, F&& f) {
        return static_cast<F&&>(f)(type_c<Types>...);
    }
};

} // namespace boost::hana
