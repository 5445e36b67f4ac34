#pragma once
// kiln::tokens<Block, Vocab>: the input of a language model, Block token ids per
// example, each in [0, Vocab). The ids travel as the model's scalar type (exact
// up to 2^24 in float), so a batch of them is an ordinary batch_view of
// shape<Block>. The first layer receives them as kiln::token_ids<Block, Vocab>
// (core/shape.hpp), which only a layer that looks ids up (kiln::embedding with
// the same vocabulary) may read: the network checks it (graph/sequential.hpp).
#include "kiln/core/shape.hpp"
#include "kiln/graph/sequential.hpp"

#include <cstddef>
#include <string>

namespace kiln {

template <std::size_t Block, std::size_t Vocab>
struct tokens {
    using shape_type = shape<Block>;
    static constexpr std::size_t block = Block;
    static constexpr std::size_t vocabulary = Vocab;
    static std::string name() { return bracketed("tokens<", {Block, Vocab}, ">"); }
};

template <std::size_t Block, std::size_t Vocab>
inline constexpr bool is_input<tokens<Block, Vocab>> = true;

namespace detail {
template <std::size_t Block, std::size_t Vocab>
struct input_shape<tokens<Block, Vocab>> {
    using type = shape<Block>;
};
template <std::size_t Block, std::size_t Vocab>
struct first_layer_input<tokens<Block, Vocab>> {
    using type = token_ids<Block, Vocab>;
};
} // namespace detail

} // namespace kiln
