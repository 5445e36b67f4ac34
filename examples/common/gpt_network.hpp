#pragma once
// The course's character GPT (SEED.md part F) as one network template: block
// size and heads are compile-time parameters, so each sweep point is its own
// specialized type. Width 64, 4 pre-norm blocks, FFN 256, vocabulary 65.
#include <kiln/kiln.hpp>

#include <cstddef>

namespace kiln::examples {

inline constexpr std::size_t gpt_vocabulary = 65;
inline constexpr std::size_t gpt_width = 64;

template <std::size_t Block, std::size_t Heads>
using gpt = kiln::sequential<
    kiln::tokens<Block, gpt_vocabulary>, kiln::embedding<gpt_vocabulary, gpt_width>,
    kiln::add_position<Block>,
    kiln::repeat<4, kiln::residual<kiln::layer_norm, kiln::causal_self_attention<Heads>>,
                 kiln::residual<kiln::layer_norm, kiln::linear<4 * gpt_width>, kiln::relu,
                                kiln::linear<gpt_width>>>,
    kiln::layer_norm, kiln::linear<gpt_vocabulary>>;

// The compiler states the course's count.
static_assert(gpt<32, 4>::param_count == 209'729);

} // namespace kiln::examples
