#pragma once
// kiln::tokens<Block, Vocab>: the input of a language model, Block token ids per
// example, each in [0, Vocab). The ids travel as the model's scalar type (exact
// up to 2^24 in float), so a batch of them is an ordinary batch_view; only a
// layer that looks ids up (kiln::embedding with the same vocabulary) may read
// them, which kiln::sequential checks (graph/sequential.hpp).
#include "kiln/core/shape.hpp"
#include "kiln/graph/sequential.hpp"

#include <cstddef>
#include <string>

namespace kiln {

template <std::size_t Block, std::size_t Vocab>
struct tokens {
    using shape_type = shape<Block>;
    static constexpr std::size_t block = Block;
    // Marks an input of token ids (graph/sequential.hpp).
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
} // namespace detail

} // namespace kiln
