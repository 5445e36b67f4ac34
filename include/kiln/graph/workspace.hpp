#pragma once
// kiln::workspace<Net, T>: the memory one forward and backward pass needs, for up
// to `capacity` examples, allocated once and laid out by the network's runner
// (graph/runner.hpp): each layer's output, each layer's saved state and
// backward's two gradient buffers; and the pool whose cores a pass may use.
#include "kiln/core/aligned_buffer.hpp"
#include "kiln/core/always_inline.hpp"
#include "kiln/core/checked_size.hpp"
#include "kiln/core/tensor.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/graph/sequential.hpp"
#include "kiln/kernels/blocking.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace kiln {

template <class Net, class T = float>
class workspace {
    using network_runner = typename Net::network_runner;

public:
    [[gnu::cold]] explicit workspace(std::size_t capacity,
                                     thread_pool& pool = default_thread_pool())
        : pool_(&pool), min_flops_per_split_(min_flops_per_split()), capacity_(capacity),
          memory_(arena_size(capacity),
                  "kiln::workspace for " + std::to_string(capacity) + " examples"),
          packing_per_part_(packing_values(memory_.size())),
          packing_(checked_product(pool.size(), packing_per_part_, "kiln::workspace packing"),
                   "kiln::workspace packing areas"),
          partials_(network_runner::gradient_partials, "kiln::workspace partial sums") {
        // Derived here, so that a bad KILN_L2_BYTES throws here.
        l2_bytes_ = kernels::blocking_in_use().caches.l2_bytes;
    }

    std::size_t capacity() const noexcept { return capacity_; }
    thread_pool& pool() const noexcept { return *pool_; }

    // Parts to split a pass of `flops` into, for a layer whose parameters take
    // `weight_bytes`: one unless each core gets enough work to pay for the
    // hand-over and for moving the weights between the cores' caches. The cost of
    // the move grows with the weights, so a layer with small weights (a
    // convolution's) splits sooner than one with large weights (a wide linear).
    // A forward pass over weights larger than a core's L2 always splits: on one
    // core it reads them from L3 each time, whatever its FLOP; split, each core
    // reads its own share, which stays in its own L2 from pass to pass (a pass
    // split the same way gives each core the same part: core/thread_pool.hpp).
    // Not when the weights change between forward passes (a trainer's workspace):
    // the update then moves the weights between the cores' caches.
    std::size_t parts_for(std::size_t flops, std::size_t weight_bytes,
                          bool reads_only) const noexcept {
        if (reads_only && !weights_change_ && weight_bytes > l2_bytes_) return pool_->size();
        const std::size_t worth_splitting =
            std::min(min_flops_per_split_,
                     std::max(min_flops_for_small_weights, flops_per_weight_byte * weight_bytes));
        return flops >= worth_splitting ? pool_->size() : 1;
    }
    // A trainer's workspace: its forward passes see the weights of the last update.
    void set_weights_change_every_step(bool change) noexcept { weights_change_ = change; }
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
    // A pass's work counts its input and output values too, each as long as this
    // many FLOP of a product: a pass that only streams memory (pooling, an
    // activation's gradient, batch_norm) is worth splitting once it streams
    // enough. A core streams some 6 G values a second from L3 and multiplies at
    // some 100 GFLOP/s in these passes (docs/performance.md).
    static constexpr std::size_t flops_per_value_moved = 16;
    static constexpr std::size_t min_flops_for_small_weights = 4'000'000;

    // Output of position I (0 = the input of the last forward pass).
    template <std::size_t I>
    T* activation() noexcept {
        return network_runner::template output<I>(memory_.data(), input_, batch_);
    }
    // What the runner lays out for the batch of the last forward pass: every
    // output, every layer's saved state and backward's gradient buffers.
    T* memory() noexcept { return memory_.data(); }
    const T* input() const noexcept { return input_; }
    std::size_t batch() const noexcept { return batch_; }
    // The mode of the last forward pass, which its backward repeats.
    const pass_mode& mode() const noexcept { return mode_; }
    void set_mode(const pass_mode& mode) noexcept { mode_ = mode; }

    // Called by forward: remembers the input (backward reads it) and its count.
    void bind_input(const T* input, std::size_t batch) {
        if (batch > capacity_)
            throw std::length_error("kiln: a batch of " + std::to_string(batch) +
                                    " examples does not fit a workspace made for " +
                                    std::to_string(capacity_));
        input_ = input;
        batch_ = batch;
    }

    // Part `part`'s packing area (core/packing_area.hpp): empty for a network
    // whose products all keep their operands in L2.
    packing_area packing_for(std::size_t part) const noexcept {
        return {reinterpret_cast<std::byte*>(packing_.data() + part * packing_per_part_),
                packing_per_part_ * sizeof(T)};
    }

    // Room for one layer's partial sums of its parameter gradient at a time
    // (layers/layer.hpp: gradient_partials).
    T* partials() const noexcept { return partials_.data(); }

    // Where the loss writes d loss / d output, and backward's scratch.
    T* gradient_buffer(bool second) noexcept {
        return network_runner::gradient_buffer(memory_.data(), batch_, second ? 1 : 0);
    }

private:
    // The arena's scalars, checked before it is allocated.
    [[gnu::cold]] static std::size_t arena_size(std::size_t capacity) {
        if (capacity == 0)
            throw std::invalid_argument("kiln::workspace: capacity must be at least 1");
        // capacity x the values one example's pass needs
        return checked_product(capacity, network_runner::saved_per_example,
                               "kiln::workspace capacity");
    }

    // Values of each part's packing area: none unless the parameters or the arena
    // (which holds every product's activations and gradients) exceed what a
    // product keeps whole in L2 (kernels/gemm.hpp); whole cache lines.
    [[gnu::cold]] static std::size_t packing_values(std::size_t arena_values) {
        const kernels::blocking& plan = kernels::blocking_in_use();
        const std::size_t largest = std::max(network_runner::storage_size, arena_values);
        if (largest <= plan.whole_b_bytes / sizeof(T)) return 0;
        constexpr std::size_t line = 64 / sizeof(T);
        return (plan.packing_bytes() / sizeof(T) + line - 1) / line * line;
    }

    thread_pool* pool_;
    std::size_t min_flops_per_split_;
    std::size_t l2_bytes_ = 0;
    bool weights_change_ = false;
    std::size_t capacity_;
    aligned_buffer<T> memory_;
    std::size_t packing_per_part_;
    mutable aligned_buffer<T> packing_;
    mutable aligned_buffer<T> partials_;
    const T* input_ = nullptr;
    std::size_t batch_ = 0;
    pass_mode mode_;
};

// Runs a plain layer's pass on the workspace's pool, split between its cores when
// the pass is worth it (workspace::parts_for).
template <class Net, class T>
struct split_between_cores {
    const workspace<Net, T>* space;
    template <class Layer, class U, pass_kind Kind, class Pass>
    [[gnu::always_inline]] void run(std::size_t batch, Pass&& pass) const {
        constexpr std::size_t moved = Layer::in_shape::size + Layer::out_shape::size;
        space->pool().run(
            space->parts_for(
                (Layer::flops_per_example + workspace<Net, T>::flops_per_value_moved * moved) *
                    batch,
                Layer::storage_size * sizeof(U), Kind == pass_kind::forward),
            [&](work_share share) KILN_ALWAYS_INLINE {
                share.packing = space->packing_for(share.index);
                pass(share);
            });
    }
    template <class U>
    U* partials() const noexcept {
        return space->partials();
    }
};

} // namespace kiln
