#pragma once
// The character GRU of examples/char_rnn.cpp, which bench/char_rnn_step.cpp and
// bench/peers/char_rnn.py time: each character id looked up in an embedding, one
// GRU layer over the window, and a linear layer from each step's state to the
// next character's logits. The window's length is a compile-time parameter.
#include <kiln/kiln.hpp>

#include <cstddef>

namespace kiln::examples {

inline constexpr std::size_t char_rnn_vocabulary = 65; // tiny Shakespeare's characters
inline constexpr std::size_t char_rnn_embedding = 64;
inline constexpr std::size_t char_rnn_hidden = 128;

template <std::size_t Length, std::size_t Hidden = char_rnn_hidden>
using char_rnn = kiln::sequential<kiln::tokens<Length, char_rnn_vocabulary>,
                                  kiln::embedding<char_rnn_vocabulary, char_rnn_embedding>,
                                  kiln::gru<Hidden>, kiln::linear<char_rnn_vocabulary>>;

} // namespace kiln::examples
