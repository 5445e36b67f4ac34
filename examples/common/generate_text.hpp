#pragma once
// Text from a character model whose window is a compile-time length (the GPT of
// examples/gpt.cpp, the GRU of examples/char_rnn.cpp): one character at a time,
// each a forward pass over the window that ends with it. Both networks are
// causal (no position sees a later one), so a window padded after a short
// context gives exactly the context's logits at its last position; past the
// window's length the context is its last Length characters.
#include <kiln/data/char_text.hpp>
#include <kiln/kiln.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace kiln::examples {

// An id drawn from softmax(logits / temperature) over `vocabulary` logits. Not a
// template: it compiles once, not once per network.
inline std::size_t draw_next(const float* logits, std::size_t vocabulary, double temperature,
                             kiln::rng& random, std::vector<double>& weights) {
    const double largest = *std::max_element(logits, logits + vocabulary);
    double total = 0;
    for (std::size_t c = 0; c < vocabulary; ++c)
        total += weights[c] = std::exp((logits[c] - largest) / temperature);
    double pick = random.uniform() * total;
    std::size_t next = 0;
    while (next + 1 < vocabulary && pick >= weights[next])
        pick -= weights[next++];
    return next;
}

// Samples `length` characters after a context of id 0, as the course's generate:
// each next id drawn from softmax(logits / temperature) at the context's last
// position.
template <class Net>
std::string generate(const kiln::model<Net>& net, const kiln::data::char_text& text,
                     std::size_t length, double temperature, std::uint64_t seed) {
    constexpr std::size_t block = Net::input_shape::size;
    constexpr std::size_t vocabulary = Net::output_shape::size / block;
    kiln::workspace<Net> space(1);
    kiln::rng random(seed);
    std::vector<float> context = {0.0f};
    std::vector<float> window(block);
    std::vector<double> weights(vocabulary);
    for (std::size_t n = 0; n < length; ++n) {
        const std::size_t used = context.size() < block ? context.size() : block;
        std::fill(window.begin(), window.end(), 0.0f);
        std::copy(context.end() - static_cast<std::ptrdiff_t>(used), context.end(), window.begin());
        const auto logits = kiln::forward(
            net, space, kiln::batch_view<typename Net::input_shape, const float>(window.data(), 1));
        const float* const last = logits.data() + (used - 1) * vocabulary;
        context.push_back(
            static_cast<float>(draw_next(last, vocabulary, temperature, random, weights)));
    }
    return text.decode(std::span<const float>(context).subspan(1));
}

} // namespace kiln::examples
