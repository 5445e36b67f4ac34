#pragma once
// kiln::gru<Hidden>: PyTorch's nn.GRU (one layer, batch_first, h0 = 0) over a
// sequence, returning the state after every step ((length, Hidden) per example;
// follow it with kiln::last_step for the last one). Gates r, z, n in PyTorch's
// order:
//   r = sigmoid(x W_ir + b_ir + h W_hr + b_hr)
//   z = sigmoid(x W_iz + b_iz + h W_hz + b_hz)
//   n = tanh(x W_in + b_in + r * (h W_hn + b_hn))
//   h' = (1 - z) * n + z * h
// The scaffold (layers/recurrent.hpp) does the products and the steps through time.
#include "kiln/core/always_inline.hpp"
#include "kiln/kernels/gemm.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/recurrent.hpp"
#include "kiln/layers/sigmoid.hpp"

#include <cstddef>

namespace kiln {

struct gru_cell {
    static constexpr const char* spec_name = "gru<";
    static constexpr std::size_t gates = 3;
    static constexpr bool carries_state = false;
    // r scales h W_hn + b_hn inside n, so the recurrent product's gradient differs
    // from the input projection's in the n block.
    static constexpr bool same_gate_gradient = false;

    // gates holds x W_ih + b_ih and becomes r | z | n; recurrent is h W_hh + b_hh.
    template <std::size_t H, class T>
    static void step(T* gates, const T* recurrent, const T* previous, const T*, T*, T* h) noexcept {
        each_register<T, H>([&](std::size_t c, auto lanes) KILN_ALWAYS_INLINE {
            constexpr std::size_t n = decltype(lanes)::value;
            using kernels::load_lanes, kernels::store_lanes;
            const auto r = sigmoid::apply(load_lanes<n>(gates + c) + load_lanes<n>(recurrent + c));
            const auto z =
                sigmoid::apply(load_lanes<n>(gates + H + c) + load_lanes<n>(recurrent + H + c));
            const auto candidate = simd::tanh(simd::fma(r, load_lanes<n>(recurrent + 2 * H + c),
                                                        load_lanes<n>(gates + 2 * H + c)));
            store_lanes<n>(gates + c, r);
            store_lanes<n>(gates + H + c, z);
            store_lanes<n>(gates + 2 * H + c, candidate);
            store_lanes<n>(h + c, simd::fma(z, load_lanes<n>(previous + c) - candidate, candidate));
        });
    }

    // With dh = dy + carry (what reaches h' from the output and the step after):
    //   dn = dh (1 - z), dz = dh (h - n), and h's direct share dh z (the new carry);
    //   pre-activations: an = dn (1 - n^2), ar = an (h W_hn + b_hn) r (1 - r),
    //   az = dz z (1 - z); the recurrent product's gradient is ar | az | an r.
    template <std::size_t H, class T>
    static void step_backward(const T* gates, const T* recurrent, const T* previous, const T*,
                              const T*, const T* dy, T* carry, T*, T* gate_gradient,
                              T* recurrent_gradient) noexcept {
        each_register<T, H>([&](std::size_t c, auto lanes) KILN_ALWAYS_INLINE {
            constexpr std::size_t n = decltype(lanes)::value;
            using kernels::load_lanes, kernels::store_lanes;
            using vec = simd::vec<T>;
            const vec one(T{1});
            const vec r = load_lanes<n>(gates + c), z = load_lanes<n>(gates + H + c),
                      candidate = load_lanes<n>(gates + 2 * H + c);
            const vec dh = load_lanes<n>(dy + c) + load_lanes<n>(carry + c);
            const vec a_n = dh * (one - z) * (one - candidate * candidate);
            const vec a_r = a_n * load_lanes<n>(recurrent + 2 * H + c) * r * (one - r);
            const vec a_z = dh * (load_lanes<n>(previous + c) - candidate) * z * (one - z);
            store_lanes<n>(carry + c, dh * z);
            store_lanes<n>(gate_gradient + c, a_r);
            store_lanes<n>(gate_gradient + H + c, a_z);
            store_lanes<n>(gate_gradient + 2 * H + c, a_n);
            store_lanes<n>(recurrent_gradient + c, a_r);
            store_lanes<n>(recurrent_gradient + H + c, a_z);
            store_lanes<n>(recurrent_gradient + 2 * H + c, a_n * r);
        });
    }
};

template <std::size_t Hidden>
struct gru : recurrent_spec<gru_cell, Hidden, gru<Hidden>> {};

} // namespace kiln
