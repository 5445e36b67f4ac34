#pragma once
// What the layers that multiply by a weight matrix and add a bias (linear,
// conv2d) share: how they initialize, how their passes split between cores, and
// how a weight gradient summed over chunks of the batch reaches the sink.
#include "kiln/core/always_inline.hpp"
#include "kiln/core/init.hpp"
#include "kiln/core/rng.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/kernels/gemm.hpp"

#include <cmath>
#include <cstddef>
#include <type_traits>

namespace kiln::weights_and_bias {

// The course's N(mean, stddev) for every parameter; PyTorch's default for
// nn.Linear and nn.Conv2d: U(+-1/sqrt(fan_in)) for the weights and the bias
// (kaiming_uniform with a = sqrt(5) comes to that bound); or Keras's Glorot
// uniform weights and zero bias. fan_in is the inputs of one output, fan_out the
// outputs one input reaches.
template <class T, class Scheme>
void initialize(T* weights, std::size_t weight_count, T* bias, std::size_t bias_count,
                std::size_t fan_in, std::size_t fan_out, rng& random, const Scheme& scheme) {
    auto fill = [&](auto draw_weight, auto draw_bias) {
        for (std::size_t i = 0; i < weight_count; ++i)
            weights[i] = static_cast<T>(draw_weight());
        for (std::size_t i = 0; i < bias_count; ++i)
            bias[i] = static_cast<T>(draw_bias());
    };
    if constexpr (std::is_same_v<Scheme, init::normal>) {
        auto draw = [&] { return random.normal(scheme.mean, scheme.stddev); };
        fill(draw, draw);
    } else if constexpr (std::is_same_v<Scheme, init::glorot_uniform>) {
        const double limit = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
        fill([&] { return random.uniform(-limit, limit); }, [] { return 0.0; });
    } else {
        static_assert(std::is_same_v<Scheme, init::pytorch_default>);
        const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
        auto draw = [&] { return random.uniform(-bound, bound); };
        fill(draw, draw);
    }
}

// How forward and the weight gradient split between cores: by column blocks of
// W when there are enough, so that each core keeps updating the same part of W in
// its own cache from step to step; else by rows. A convolution splits by rows
// (output pixels, or W's rows in the weight gradient): each core would otherwise
// gather every patch for its blocks, and on CNN3 (128 filters, two blocks) the row
// split took its second layer's forward and weight gradient at batch 5 from 130
// and 152 us to 104 and 107 us on two cores.
struct split_result {
    work_share::range rows;
    work_share::range blocks;
};
template <class T, std::size_t Columns>
constexpr split_result split_by_rows(std::size_t rows, work_share share) noexcept {
    return {share.rows(rows, kernels::tile_rows), {0, kernels::column_blocks<T, Columns>}};
}
template <class T, std::size_t Columns>
constexpr split_result split(std::size_t rows, work_share share) noexcept {
    constexpr std::size_t blocks = kernels::column_blocks<T, Columns>;
    if (blocks >= share.count) return {{0, rows}, share.rows(blocks)};
    return split_by_rows<T, Columns>(rows, share);
}

// How backward_partials (layers/layer.hpp) splits a parameter gradient by
// examples: the batch in `example_groups` fixed parts (never one per core, so that
// results do not depend on the cores; each costs a gradient's partial sums written
// and read), each summed into partial sums of its own, a slice apart, which
// combine_partials adds in order.
inline constexpr std::size_t example_groups = 2;

// Whether that pays for a layer whose slice takes `slice` scalars and whose
// gradient reads `values_per_example` values of each example (x and dy): the
// partial sums cost less than half of reading them, which a split by parameters
// makes every core do whole.
constexpr bool example_split_pays(std::size_t batch, std::size_t values_per_example,
                                  std::size_t slice) noexcept {
    return batch >= example_groups && batch * values_per_example >= 2 * example_groups * slice;
}

// Calls sum(group, its examples, share of the rows) for the groups a part of the
// pass sums: every group's rows with no more parts than groups; with more, the
// parts of a group split its rows.
template <class Sum>
void for_groups_of(work_share share, std::size_t batch, Sum&& sum) {
    work_share::range groups = share.rows(example_groups);
    work_share rows{};
    if (share.count > example_groups) {
        const std::size_t group = share.index % example_groups;
        groups = {group, group + 1};
        rows = {share.index / example_groups,
                (share.count - group + example_groups - 1) / example_groups};
    }
    for (std::size_t group = groups.begin; group < groups.end; ++group)
        sum(group, work_share{group, example_groups}.rows(batch), rows);
}

// The epilogue of one chunk of a weight gradient whose rows are Columns wide:
// every chunk but the last leaves its partial sums in scratch (the layer's slice
// of the gradient buffer); the last adds them and hands the total to the sink.
// Row 0 lies at `first` in the slice (a bias's gradient summed beside its weights'
// passes its own place). Flags and pointers are captured by value, so that the
// stores do not force reloads of what the epilogue reads; inlined by force
// (core/always_inline.hpp).
template <std::size_t Columns, class T, class Sink>
auto gradient_chunk(T* scratch, Sink& sink, bool first_chunk, bool last_chunk,
                    std::size_t first = 0) {
    return [=, &sink](std::size_t row, std::size_t column, auto& tile) KILN_ALWAYS_INLINE {
        tile.for_each([&](std::size_t r, std::size_t c, auto& value, auto lanes)
                          KILN_ALWAYS_INLINE {
                              constexpr std::size_t n = decltype(lanes)::value;
                              const std::size_t at = first + (row + r) * Columns + column + c;
                              auto total = value;
                              if (!first_chunk) total += kernels::load_lanes<n>(scratch + at);
                              if (last_chunk)
                                  sink.template gradient<n>(at, total);
                              else
                                  kernels::store_lanes<n>(scratch + at, total);
                          });
    };
}

// The bias gradient, the sum of the rows of dy, handed to the sink register by
// register at the bias's place in the layer's slice.
template <class T, std::size_t Columns, class Sink>
void bias_gradient(const T* dy, std::size_t rows, std::size_t bias_offset, Sink& sink) {
    kernels::sum_rows<T, Columns>(dy, rows, [&](std::size_t column, const auto& total, auto lanes) {
        sink.template gradient<decltype(lanes)::value>(bias_offset + column, total);
    });
}

} // namespace kiln::weights_and_bias
