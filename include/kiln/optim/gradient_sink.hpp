#pragma once
// Where backward hands parameter gradients, one register at a time. A sink
// factory gives each layer a sink for its slice of the flat buffers:
// store_gradients keeps the gradient (gradient checks, tests); an optimizer's
// fused sink updates the parameters on the spot instead (optim/sgd.hpp).
#include "kiln/kernels/gemm.hpp"

#include <cstddef>

namespace kiln {

template <class T>
struct store_gradients {
    T* gradients;

    struct slice_sink {
        T* gradients;
        template <std::size_t Lanes>
        [[gnu::always_inline]] void gradient(std::size_t index,
                                             const simd::vec<T>& value) noexcept {
            kernels::store_lanes<Lanes>(gradients + index, value);
        }
        slice_sink shifted(std::size_t offset) const noexcept { return {gradients + offset}; }
    };
    slice_sink slice(std::size_t offset) const noexcept { return {gradients + offset}; }
};

// Hands count gradients stored at values to sink, as indices offset.. offset + count
// of its slice, register by register: for layers that sum a
// gradient before it is final (an embedding row used twice, a layer norm's scale
// summed over positions), and for an optimizer's update over stored gradients.
template <class T, class Sink>
void hand_over(Sink& sink, std::size_t offset, const T* values, std::size_t count) noexcept {
    constexpr std::size_t W = simd::width<T>;
    const std::size_t full = count - count % W;
    for (std::size_t i = 0; i < full; i += W)
        sink.template gradient<W>(offset + i, simd::load(values + i));
    // The tail one lane at a time: one more instantiation of the sink, not one per
    // tail length.
    for (std::size_t i = full; i < count; ++i)
        sink.template gradient<1>(offset + i, simd::load_partial(values + i, 1));
}

// Every sink has shifted(offset): the sink of the part of its slice that starts
// at offset, which a composite layer (residual, repeat, attention) hands each of
// its inner layers. It is the same type of sink with its pointers moved on, so a
// layer's kernels compile once however deeply it is nested: a wrapper type per
// level made examples/gpt compile each weight-gradient kernel up to four times.

} // namespace kiln
