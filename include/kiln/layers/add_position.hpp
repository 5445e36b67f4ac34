#pragma once
// kiln::add_position<Block>: adds a learned vector per position (a [Block][Width]
// table, PyTorch's position nn.Embedding) to a sequence of up to Block vectors.
// A longer sequence has positions the table does not hold: checked when bound.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/names.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/layers/embedding.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/optim/gradient_sink.hpp"

#include <algorithm>
#include <cstddef>
#include <string>

namespace kiln {

namespace error {
template <class Layer, class Got, class Needs>
struct sequence_longer_than_the_position_table {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: kiln::add_position<Block> holds 'Needs' (Block positions by the "
                      "width), but the sequence it gets has shape 'Got': more positions than "
                      "the table has. Fix: make Block at least the sequence length (the Block "
                      "of kiln::tokens<Block, Vocab>).");
    }
};
template <class Layer, class Got>
struct add_position_needs_a_sequence {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got>,
                      "kiln: kiln::add_position needs a sequence of vectors (positions x width), "
                      "but it gets shape 'Got'. Fix: put it after kiln::embedding.");
    }
};
} // namespace error

template <std::size_t Block>
struct add_position {
    static std::string name() { return bracketed("add_position<", {Block}, ">"); }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : table_layer<add_position, In, In, Position, Block, last_dim<In>> {
        static constexpr bool is_sequence = In::rank == 2;
        static constexpr std::size_t length = In::dims[0];
        static constexpr std::size_t width = last_dim<In>;
        using broken_rule = first_broken<
            rule<is_sequence,
                 error::add_position_needs_a_sequence<layer<Position, add_position>, In>>,
            rule<!is_sequence || length <= Block,
                 error::sequence_longer_than_the_position_table<layer<Position, add_position>, In,
                                                                shape<Block, width>>>>;
        static constexpr bool valid = broken_rule::holds;

        static constexpr std::size_t param_count = Block * width;

        template <class T>
        static void forward(const T* params, const T* x, T* y, T*, std::size_t batch) noexcept {
            if constexpr (valid)
                for (std::size_t b = 0; b < batch; ++b)
                    simd::add(In::size, x + b * In::size, params, y + b * In::size);
        }

        // dx = dy; the table's gradient sums dy over the batch (rows past the
        // sequence's length get zero).
        template <class T, class Sink>
        static void backward(const T*, T* scratch, const T*, const T*, T*, const T* dy, T* dx,
                             std::size_t batch, Sink& sink) noexcept {
            if constexpr (valid) {
                if (dx != nullptr) std::copy_n(dy, batch * In::size, dx);
                std::fill_n(scratch, param_count, T{0});
                for (std::size_t b = 0; b < batch; ++b)
                    simd::add(In::size, scratch, dy + b * In::size, scratch);
                hand_over(sink, 0, scratch, param_count);
            }
        }
    };
};

} // namespace kiln
