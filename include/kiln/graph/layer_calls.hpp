#pragma once
// Calling a bound layer the same way whatever its kind. Two kinds of layer:
//   plain layers (linear, relu, conv2d, ...): forward(params, x, y, batch, share),
//     backward_input and backward_params as graph/layer.hpp's contract says;
//   stateful layers, which declare `saved_per_example` (scalars each example keeps
//     for backward beyond its output, a multiple of 16; 0 is allowed): they run
//     whole on one core and take the workspace's slot for that state:
//       forward(params, x, y, saved, batch)
//       backward(params, scratch, x, y, saved, dy, dx, batch, sink)
//     backward computes dx (unless dx is null) before it hands a parameter
//     gradient to the sink, which may update the parameters on the spot.
// Composite layers (residual, repeat) and the attention layer are stateful; the
// networks inside them are run with these calls.
#include "kiln/core/thread_pool.hpp"

#include <cstddef>

namespace kiln {

template <class Layer>
inline constexpr bool is_stateful = requires {
    Layer::saved_per_example;
};

template <class Layer>
inline constexpr std::size_t saved_per_example_of = [] {
    if constexpr (is_stateful<Layer>)
        return Layer::saved_per_example;
    else
        return std::size_t{0};
}();

template <class Layer, class T>
void forward_layer(const T* params, const T* x, T* y, T* saved, std::size_t batch) noexcept {
    if constexpr (Layer::is_view)
        return;
    else if constexpr (is_stateful<Layer>)
        Layer::forward(params, x, y, saved, batch);
    else
        Layer::forward(params, x, y, batch, work_share{});
}

// dx may be null: the input gradient is then not computed.
template <class Layer, class T, class Sink>
void backward_layer(const T* params, T* scratch, const T* x, const T* y, T* saved, const T* dy,
                    T* dx, std::size_t batch, Sink& sink) noexcept {
    if constexpr (is_stateful<Layer>) {
        Layer::backward(params, scratch, x, y, saved, dy, dx, batch, sink);
    } else {
        if (dx != nullptr) Layer::backward_input(params, x, y, dy, dx, batch, work_share{});
        if constexpr (Layer::param_count != 0)
            Layer::backward_params(params, scratch, x, y, dy, batch, sink, work_share{});
    }
}

} // namespace kiln
