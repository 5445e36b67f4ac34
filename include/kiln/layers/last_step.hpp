#pragma once
// kiln::last_step: the last vector of a sequence ((length, features) -> (features)):
// what a recurrent layer followed by it returns is PyTorch's h_n. A layer of its
// own rather than a flag on gru and lstm: the recurrent layer keeps every step's
// state for backward anyway, so returning them all costs nothing, and one
// spelling serves every sequence layer (attention's last position too).
// Backward puts dy at the last position and zeros before it.
#include "kiln/core/thread_pool.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/layers/recurrent.hpp"

#include <algorithm>
#include <cstddef>
#include <string>

namespace kiln {

struct last_step {
    static std::string name() { return "last_step"; }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : parameterless_layer<last_step, In, shape<last_dim<In>>, Position> {
        using broken_rule =
            first_broken<rule<In::rank == 2,
                              error::needs_a_sequence_of_vectors<layer<Position, last_step>, In>>>;
        static constexpr bool valid = broken_rule::holds;
        static constexpr std::size_t width = last_dim<In>;
        static constexpr std::size_t length = In::size / width;

        template <class T>
        static void forward(const T*, const T* x, T* y, std::size_t batch,
                            work_share share = {}) noexcept {
            const auto examples = share.rows(batch);
            for (std::size_t b = examples.begin; b < examples.end; ++b)
                std::copy_n(x + (b * length + length - 1) * width, width, y + b * width);
        }

        template <class T>
        static void backward_input(const T*, const T*, const T*, const T* dy, T* dx,
                                   std::size_t batch, work_share share = {}) noexcept {
            const auto examples = share.rows(batch);
            for (std::size_t b = examples.begin; b < examples.end; ++b) {
                T* const example = dx + b * length * width;
                std::fill_n(example, (length - 1) * width, T{0});
                std::copy_n(dy + b * width, width, example + (length - 1) * width);
            }
        }
    };
};

} // namespace kiln
