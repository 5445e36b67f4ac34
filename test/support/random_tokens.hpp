#pragma once
// Random token ids and next-token labels for the sequence tests.
#include <kiln/kiln.hpp>

#include <cstddef>
#include <vector>

namespace kiln::testing {

// x[i] and y[i] below vocab, drawn in turn from random.
template <class T>
void random_tokens(kiln::rng& random, std::size_t vocab, std::vector<T>& x,
                   std::vector<kiln::label_t>& y) {
    for (std::size_t i = 0; i < x.size(); ++i) {
        x[i] = static_cast<T>(random.below(vocab));
        y[i] = static_cast<kiln::label_t>(random.below(vocab));
    }
}

} // namespace kiln::testing
