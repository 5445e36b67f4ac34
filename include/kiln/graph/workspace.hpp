#pragma once
// kiln::workspace<Net, T>: the memory one forward and backward pass needs, for up
// to `capacity` examples, allocated once. Each layer's output has a fixed place
// in one arena (a view layer shares its input's place); backward ping-pongs the
// gradient between two buffers sized for the widest layer.
#include "kiln/core/aligned_buffer.hpp"
#include "kiln/core/tensor.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/graph/layer_calls.hpp"
#include "kiln/graph/sequential.hpp"

#include <array>
#include <cstddef>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace kiln {

template <class Net, class T = float>
class workspace {
    static constexpr std::size_t layer_count = Net::layer_count;

    template <std::size_t I>
    using layer_t = type_at<I, typename Net::layers>; // 0-based here

    // For each position 0..L: the position whose buffer holds its output (0 = the input).
    static constexpr std::array<std::size_t, layer_count + 1> owner =
        []<std::size_t... I>(std::index_sequence<I...>) {
        std::array<std::size_t, layer_count + 1> result{};
        ((result[I + 1] = layer_t<I>::is_view ? result[I] : I + 1), ...);
        return result;
    }
    (std::make_index_sequence<layer_count>{});

    // Scalars per example of each position's output, and the widest one.
    static constexpr std::array<std::size_t, layer_count + 1> example_sizes =
        []<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<std::size_t, layer_count + 1>{Net::input_shape::size,
                                                        layer_t<I>::out_shape::size...};
    }
    (std::make_index_sequence<layer_count>{});
    // Scalars per example each layer keeps for its backward beyond its output
    // (graph/layer_calls.hpp: stateful layers); they follow the outputs in the arena.
    static constexpr std::array<std::size_t, layer_count + 1> saved_sizes =
        []<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<std::size_t, layer_count + 1>{0, saved_per_example_of<layer_t<I>>...};
    }
    (std::make_index_sequence<layer_count>{});
    static constexpr std::size_t widest = [] {
        std::size_t w = 0;
        for (std::size_t i = 1; i <= layer_count; ++i)
            w = example_sizes[i] > w ? example_sizes[i] : w;
        return w;
    }();

public:
    [[gnu::cold]] explicit workspace(std::size_t capacity,
                                     thread_pool& pool = default_thread_pool())
        : pool_(&pool), min_flops_per_split_(min_flops_per_split()), capacity_(capacity),
          arena_(arena_size(capacity)), gradient_a_(capacity * widest),
          gradient_b_(capacity * widest) {
        if (capacity == 0)
            throw std::invalid_argument("kiln::workspace: capacity must be at least 1");
        std::size_t offset = 0;
        for (std::size_t i = 1; i <= layer_count; ++i) {
            if (owner[i] != i) continue;
            arena_slots_[i] = arena_.data() + offset;
            offset += padded_count(example_sizes[i] * capacity);
        }
        for (std::size_t i = 1; i <= layer_count; ++i) {
            saved_slots_[i] = arena_.data() + offset;
            offset += padded_count(saved_sizes[i] * capacity);
        }
    }

    std::size_t capacity() const noexcept { return capacity_; }
    thread_pool& pool() const noexcept { return *pool_; }

    // Parts to split a pass of `flops` into, for a layer whose parameters take
    // `weight_bytes`: one unless each core gets enough work to pay for the
    // hand-over and for moving the weights between the cores' caches. The cost of
    // the move grows with the weights, so a layer with small weights (a
    // convolution's) splits sooner than one with large weights (a wide linear).
    std::size_t parts_for(std::size_t flops, std::size_t weight_bytes) const noexcept {
        const std::size_t worth_splitting =
            std::min(min_flops_per_split_,
                     std::max(min_flops_for_small_weights, flops_per_weight_byte * weight_bytes));
        return flops >= worth_splitting ? pool_->size() : 1;
    }
    // From this much work a pass always splits (tests set 0 to force splits).
    void set_min_flops_per_split(std::size_t flops) noexcept { min_flops_per_split_ = flops; }
    // The default, or KILN_SPLIT_FLOPS for experiments.
    static std::size_t min_flops_per_split() {
        static const std::size_t value = [] {
            const char* text = std::getenv("KILN_SPLIT_FLOPS");
            return text ? static_cast<std::size_t>(std::strtoull(text, nullptr, 10))
                        : default_min_flops_per_split;
        }();
        return value;
    }
    // Measured on the 2-core machine of docs/performance.md: splitting a pass of
    // the 784-128-10 network's first layer (400 KB of weights) at 8 MFLOP made it
    // slower, the hand-over and the weights' move costing more than half the work;
    // from about 40 MFLOP the split wins. The second convolution of CNN3 (131 KB)
    // wins at 33 MFLOP. Below 4 MFLOP a split cannot pay even for the hand-over.
    static constexpr std::size_t default_min_flops_per_split = 40'000'000;
    static constexpr std::size_t flops_per_weight_byte = 100;
    static constexpr std::size_t min_flops_for_small_weights = 4'000'000;

    // Output of position I (0 = the input of the last forward pass).
    template <std::size_t I>
    T* activation() noexcept {
        if constexpr (owner[I] == 0)
            return const_cast<T*>(input_);
        else
            return arena_slots_[owner[I]];
    }
    // Layer I's saved state (stateful layers), laid out for the batch of the last forward.
    template <std::size_t I>
    T* saved() noexcept {
        return saved_slots_[I];
    }
    const T* input() const noexcept { return input_; }
    std::size_t batch() const noexcept { return batch_; }

    // Called by forward: remembers the input (backward reads it) and its count.
    void bind_input(const T* input, std::size_t batch) {
        if (batch > capacity_)
            throw std::length_error("kiln: a batch of " + std::to_string(batch) +
                                    " examples does not fit a workspace made for " +
                                    std::to_string(capacity_));
        input_ = input;
        batch_ = batch;
    }

    // Where the loss writes d loss / d output, and backward's scratch.
    T* gradient_buffer(bool second) noexcept {
        return second ? gradient_b_.data() : gradient_a_.data();
    }

private:
    static std::size_t arena_size(std::size_t capacity) {
        std::size_t total = 0;
        for (std::size_t i = 1; i <= layer_count; ++i)
            if (owner[i] == i) total += padded_count(example_sizes[i] * capacity);
        for (std::size_t i = 1; i <= layer_count; ++i)
            total += padded_count(saved_sizes[i] * capacity);
        return total;
    }

    thread_pool* pool_;
    std::size_t min_flops_per_split_;
    std::size_t capacity_;
    aligned_buffer<T> arena_;
    aligned_buffer<T> gradient_a_;
    aligned_buffer<T> gradient_b_;
    std::array<T*, layer_count + 1> arena_slots_{};
    std::array<T*, layer_count + 1> saved_slots_{};
    const T* input_ = nullptr;
    std::size_t batch_ = 0;
};

} // namespace kiln
