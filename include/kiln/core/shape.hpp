#pragma once
// kiln::shape<Dims...>: the logical shape of one example, known to the compiler.
// The batch dimension is never part of a shape: it is a runtime count.
#include "kiln/core/names.hpp"

#include <array>
#include <cstddef>
#include <string>
#include <utility>

namespace kiln {

template <std::size_t... Dims>
struct shape {
    static constexpr std::size_t rank = sizeof...(Dims);
    static constexpr std::array<std::size_t, rank> dims{Dims...};
    // Number of scalars in one example.
    static constexpr std::size_t size = (std::size_t{1} * ... * Dims);
    static constexpr bool has_zero_dim = ((Dims == 0) || ...);

    // "28, 28": the dimensions as a list, for names and messages.
    static std::string dims_string() { return comma_list({Dims...}); }
    // "(28, 28)", as PyTorch prints a shape.
    static std::string to_string() { return bracketed("(", {Dims...}, ")"); }
};

// Block token ids, each in [0, Vocab): what kiln::tokens gives its first layer.
// It holds Block values as shape<Block> does, but they are indices, not numbers:
// only a lookup of the same vocabulary may read them, which the network checks
// for every layer it binds (graph/sequential.hpp).
template <std::size_t Block, std::size_t Vocab>
struct token_ids : shape<Block> {
    static constexpr std::size_t vocabulary = Vocab;
    // The same values seen as plain numbers.
    using values = shape<Block>;
};

template <class T>
inline constexpr bool is_token_ids = false;
template <std::size_t Block, std::size_t Vocab>
inline constexpr bool is_token_ids<token_ids<Block, Vocab>> = true;

template <class Shape>
inline constexpr std::size_t last_dim = Shape::dims[Shape::rank - 1];

template <class T>
inline constexpr bool is_shape = false;
template <std::size_t... Dims>
inline constexpr bool is_shape<shape<Dims...>> = true;

// The shape with its last axis replaced by Last: what `linear<Last>` produces.
template <class Shape, std::size_t Last>
struct replace_last;
template <std::size_t... Dims, std::size_t Last>
struct replace_last<shape<Dims...>, Last> {
private:
    static constexpr std::array<std::size_t, sizeof...(Dims)> in{Dims...};
    template <std::size_t... I>
    static auto make(std::index_sequence<I...>)
        -> shape<(I + 1 == sizeof...(Dims) ? Last : in[I])...>;

public:
    using type = decltype(make(std::make_index_sequence<sizeof...(Dims)>{}));
};
template <class Shape, std::size_t Last>
using replace_last_t = typename replace_last<Shape, Last>::type;

// Every feature axis folded into one: what `flatten` produces.
template <class Shape>
using flat_t = shape<Shape::size>;

} // namespace kiln
