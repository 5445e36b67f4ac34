#pragma once
// Where backward hands parameter gradients, one register at a time. A sink
// factory gives each layer a sink for its slice of the flat buffers:
// store_gradients keeps the gradient (gradient checks, tests); an optimizer's
// fused sink updates the parameters on the spot instead (optim/sgd.hpp);
// store_or_update does either, chosen at run time.
#include "kiln/kernels/gemm.hpp"

#include <cstddef>

namespace kiln {

// Whom backward tells that the gradients of a layer's parameters are final: from
// `offset` on in the flat buffer, since backward goes from the last layer to the
// first. A data-parallel step starts summing them over processes then, while the
// layers below run (distributed/data_parallel.hpp). The listener is erased to a
// function and its context, as the thread pool erases a pass, so that a network's
// backward into stored gradients compiles once, whoever listens.
struct gradient_listener {
    void (*told)(void* context, std::size_t offset) = nullptr;
    void* context = nullptr;

    void gradients_final(std::size_t offset) const {
        if (told != nullptr) told(context, offset);
    }
};

template <class T>
struct store_gradients {
    T* gradients;
    gradient_listener listener{};

    struct slice_sink {
        T* gradients;
        std::size_t first = 0; // where this slice starts in the flat buffer
        gradient_listener listener{};
        template <std::size_t Lanes>
        [[gnu::always_inline]] void gradient(std::size_t index,
                                             const simd::vec<T>& value) noexcept {
            kernels::store_lanes<Lanes>(gradients + index, value);
        }
        slice_sink shifted(std::size_t offset) const noexcept {
            return {gradients + offset, first + offset, listener};
        }
        // Called by the runner after each layer with parameters, at any depth.
        void gradients_final(std::size_t offset, std::size_t) const {
            listener.gradients_final(first + offset);
        }
    };
    slice_sink slice(std::size_t offset) const noexcept {
        return {gradients + offset, offset, listener};
    }
};

// A sink factory that stores the gradient where `stored` points or else hands it
// to `*update`, an optimizer's fused sink (exactly one of them is set): a step that
// needs the whole gradient before it updates (clipping by norm) and one that
// updates on the spot then run one compiled backward, not two.
template <class Update, class T>
struct store_or_update {
    const Update* update;
    T* stored;

    struct slice_sink {
        typename Update::slice_sink update;
        T* stored;
        template <std::size_t Lanes>
        [[gnu::always_inline]] void gradient(std::size_t index,
                                             const simd::vec<T>& value) noexcept {
            if (stored != nullptr)
                kernels::store_lanes<Lanes>(stored + index, value);
            else
                update.template gradient<Lanes>(index, value);
        }
        slice_sink shifted(std::size_t offset) const noexcept {
            if (stored != nullptr) return {{}, stored + offset};
            return {update.shifted(offset), nullptr};
        }
    };
    slice_sink slice(std::size_t offset) const noexcept {
        if (stored != nullptr) return {{}, stored + offset};
        return {update->slice(offset), nullptr};
    }
};

// A sink whose runner tells it when each layer's gradients are final.
template <class Sink>
concept announcing_sink = requires(Sink& sink, std::size_t offset) {
    sink.gradients_final(offset, offset);
};

// Hands count gradients stored at values to sink, as indices offset.. offset + count
// of its slice, register by register: for layers that sum a
// gradient before it is final (an embedding row used twice, a layer norm's scale
// summed over positions), and for an optimizer's update over stored gradients.
// With parts > 1, the gradient is the sum of that many partial sums, part j's at
// values + j * stride, added in order.
template <class T, class Sink>
void hand_over(Sink& sink, std::size_t offset, const T* values, std::size_t count,
               std::size_t parts = 1, std::size_t stride = 0) noexcept {
    constexpr std::size_t W = simd::width<T>;
    auto total = [&](auto load) {
        auto sum = load(values);
        for (std::size_t j = 1; j < parts; ++j)
            sum += load(values + j * stride);
        return sum;
    };
    const std::size_t full = count - count % W;
    for (std::size_t i = 0; i < full; i += W)
        sink.template gradient<W>(offset + i, total([&](const T* v) { return simd::load(v + i); }));
    // The tail one lane at a time: one more instantiation of the sink, not one per
    // tail length.
    for (std::size_t i = full; i < count; ++i)
        sink.template gradient<1>(offset + i,
                                  total([&](const T* v) { return simd::load_partial(v + i, 1); }));
}

// Every sink has shifted(offset): the sink of the part of its slice that starts
// at offset, which a composite layer (residual, repeat, attention) hands each of
// its inner layers. It is the same type of sink with its pointers moved on, so a
// layer's kernels compile once however deeply it is nested: a wrapper type per
// level made examples/gpt compile each weight-gradient kernel up to four times.

} // namespace kiln
