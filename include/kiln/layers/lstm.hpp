#pragma once
// kiln::lstm<Hidden>: PyTorch's nn.LSTM (one layer, batch_first, h0 = c0 = 0, no
// projection) over a sequence, returning h after every step ((length, Hidden) per
// example; follow it with kiln::last_step for the last one). Gates i, f, g, o in
// PyTorch's order, each a = x W_i* + b_i* + h W_h* + b_h*:
//   i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)
//   c' = f * c + i * g,  h' = o * tanh(c')
// The scaffold (layers/recurrent.hpp) does the products and the steps through time.
#include "kiln/core/always_inline.hpp"
#include "kiln/kernels/gemm.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/recurrent.hpp"
#include "kiln/layers/sigmoid.hpp"

#include <cstddef>

namespace kiln {

struct lstm_cell {
    static constexpr const char* spec_name = "lstm<";
    static constexpr std::size_t gates = 4;
    // c, the cell state, goes from step to step beside h.
    static constexpr bool carries_state = true;
    // Both products feed the same pre-activations: one gradient serves both.
    static constexpr bool same_gate_gradient = true;

    // gates holds x W_ih + b_ih and becomes i | f | g | o; recurrent is h W_hh + b_hh.
    template <std::size_t H, class T>
    static void step(T* gates, const T* recurrent, const T*, const T* cell, T* next_cell,
                     T* h) noexcept {
        each_register<T, H>([&](std::size_t c, auto lanes) KILN_ALWAYS_INLINE {
            constexpr std::size_t n = decltype(lanes)::value;
            using kernels::load_lanes, kernels::store_lanes;
            auto pre = [&](std::size_t gate) KILN_ALWAYS_INLINE {
                return load_lanes<n>(gates + gate * H + c) +
                       load_lanes<n>(recurrent + gate * H + c);
            };
            const auto i = sigmoid::apply(pre(0)), f = sigmoid::apply(pre(1));
            const auto g = simd::tanh(pre(2)), o = sigmoid::apply(pre(3));
            const auto state = simd::fma(f, load_lanes<n>(cell + c), i * g);
            store_lanes<n>(gates + c, i);
            store_lanes<n>(gates + H + c, f);
            store_lanes<n>(gates + 2 * H + c, g);
            store_lanes<n>(gates + 3 * H + c, o);
            store_lanes<n>(next_cell + c, state);
            store_lanes<n>(h + c, o * simd::tanh(state));
        });
    }

    // With dh = dy + carry and dc' = dc_carry + dh o (1 - tanh(c')^2):
    //   a_i = dc' g i (1 - i), a_f = dc' c f (1 - f), a_g = dc' i (1 - g^2),
    //   a_o = dh tanh(c') o (1 - o); c's gradient dc' f is the new carry of c, and
    //   h reaches the step before only through the recurrent product (carry 0).
    template <std::size_t H, class T>
    static void step_backward(const T* gates, const T*, const T*, const T* cell, const T* next_cell,
                              const T* dy, T* carry, T* cell_carry, T* gate_gradient, T*) noexcept {
        each_register<T, H>([&](std::size_t c, auto lanes) KILN_ALWAYS_INLINE {
            constexpr std::size_t n = decltype(lanes)::value;
            using kernels::load_lanes, kernels::store_lanes;
            using vec = simd::vec<T>;
            const vec one(T{1});
            const vec i = load_lanes<n>(gates + c), f = load_lanes<n>(gates + H + c),
                      g = load_lanes<n>(gates + 2 * H + c), o = load_lanes<n>(gates + 3 * H + c);
            const vec squashed = simd::tanh(load_lanes<n>(next_cell + c));
            const vec dh = load_lanes<n>(dy + c) + load_lanes<n>(carry + c);
            const vec dc = load_lanes<n>(cell_carry + c) + dh * o * (one - squashed * squashed);
            store_lanes<n>(gate_gradient + c, dc * g * i * (one - i));
            store_lanes<n>(gate_gradient + H + c, dc * load_lanes<n>(cell + c) * f * (one - f));
            store_lanes<n>(gate_gradient + 2 * H + c, dc * i * (one - g * g));
            store_lanes<n>(gate_gradient + 3 * H + c, dh * squashed * o * (one - o));
            store_lanes<n>(cell_carry + c, dc * f);
            store_lanes<n>(carry + c, vec(T{0}));
        });
    }
};

template <std::size_t Hidden>
struct lstm : recurrent_spec<lstm_cell, Hidden, lstm<Hidden>> {};

} // namespace kiln
