#pragma once
// kiln::repeat<N, Specs...>: the layers Specs... N times in a row, each copy with
// its own parameters (the transformer's blocks). The copies are one inner
// network; the last one's output is copied out as the repeat's.
#include "kiln/graph/inner_network.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/layers/linear.hpp"

#include <algorithm>
#include <cstddef>
#include <string>

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
} // namespace detail

template <std::size_t N, class... Specs>
struct repeat {
    static std::string name() {
        return "repeat<" + std::to_string(N) + ", " + spec_names<Specs...>() + ">";
    }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : composite_layer<
                      repeat, In, Position,
                      inner_network<In, Position,
                                    typename detail::repeated<N, type_list<>, Specs...>::type>> {
        using copies = typename bind::composite_layer::inner;
        using broken_rule =
            first_broken<rule<N != 0, error::layer_size_is_zero<layer<Position, repeat>>>,
                         typename copies::broken_rule>;
        static constexpr bool valid = broken_rule::holds;

        using out_shape = typename copies::out_shape;

        template <class T>
        static void forward(const T* params, const T* x, T* y, T* saved,
                            std::size_t batch) noexcept {
            const T* const last = copies::forward(params, x, saved, batch);
            std::copy_n(last, batch * out_shape::size, y);
        }

        template <class T, class Sink>
        static void backward(const T* params, T* scratch, const T* x, const T*, T* saved,
                             const T* dy, T* dx, std::size_t batch, Sink& sink) noexcept {
            copies::backward(params, scratch, x, saved, dy, dx, batch, sink);
        }
    };
};

} // namespace kiln
