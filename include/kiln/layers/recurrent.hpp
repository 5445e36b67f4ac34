#pragma once
// What kiln::gru and kiln::lstm share: a recurrent layer over a sequence of
// Length vectors of I features, returning the Hidden-wide state after every step
// ((Length, Hidden) per example; kiln::last_step keeps the last one). A *cell*
// (layers/gru.hpp, layers/lstm.hpp) says what one step does to its G gates; this
// scaffold does everything else, once:
//
//   parameters   PyTorch's nn.GRU / nn.LSTM layout, names and order: weight_ih
//                (G*H, I), weight_hh (G*H, H), bias_ih, bias_hh, gate blocks in
//                PyTorch's order; kiln stores each weight transposed ([in][G*H]), the
//                layout in which the products read contiguous rows.
//   forward      the input projection x W_ih + b_ih of every step as one product,
//                then per step the recurrent product h W_hh + b_hh of the whole
//                batch (rows one example apart) and the cell's elementwise step.
//   backward     through time, from the last step to the first: per step the
//                cell's backward and the product that carries the state's gradient
//                to the step before; then the input gradient and the weights'
//                gradients, each one product over every step.
//
// The state starts at zero (PyTorch's default h0 = c0 = 0). A recurrent layer is
// stateful (layers/layer.hpp): its steps cannot split between cores, so the
// trainer splits its batch by examples instead (train/trainer.hpp).
#include "kiln/core/always_inline.hpp"
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/names.hpp"
#include "kiln/graph/layer_view.hpp"
#include "kiln/kernels/gemm.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/layers/linear.hpp"
#include "kiln/layers/weights_and_bias.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <type_traits>

namespace kiln {

namespace error {
template <class Layer, class Got>
struct needs_a_sequence_of_vectors {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got>,
                      "kiln: this layer reads a sequence (length x features) per example, but it "
                      "gets shape 'Got'. Fix: give it a rank-2 input, kiln::input<Length, "
                      "Features>, or the output of kiln::embedding or another sequence layer.");
    }
};
} // namespace error

// f(column, lanes) for the registers that cover a row of Width values: whole
// registers, then a partial one. A cell's step is written once, on registers of
// either size (kernels::load_lanes / store_lanes).
template <class T, std::size_t Width, class F>
[[gnu::always_inline]] inline void each_register(F&& f) {
    constexpr std::size_t W = simd::width<T>;
    for (std::size_t c = 0; c + W <= Width; c += W)
        f(c, std::integral_constant<std::size_t, W>{});
    if constexpr (Width % W != 0)
        f(Width / W * W, std::integral_constant<std::size_t, Width % W>{});
}

namespace detail {

// The memory of a recurrent layer's pass, per example, as regions of the whole
// batch (each region holds every example's part, one after another, so that the
// products over every step see batch * Length rows one stride apart):
//   gates        [Length][G*H]  the input projection, then the gates' values
//   recurrent    [Length][G*H]  h_{t-1} W_hh + b_hh
//   previous     [Length][H]    h_{t-1} (zero at t = 0)
//   states       [Length + 1][S] the cell's own state before each step (LSTM's c)
//   gate_grad    [Length][G*H]  the gradient of the gates' pre-activations
//   recurrent_grad [Length][G*H] the same for h W_hh + b_hh, where it differs (GRU)
//   carry        [H + S]        the gradient flowing to the step before
template <std::size_t Length, std::size_t Hidden, class Cell>
struct recurrent_memory {
    static constexpr std::size_t gate_width = Cell::gates * Hidden;
    static constexpr std::size_t state_width = Cell::carries_state ? Hidden : 0;
    static constexpr std::size_t gates = Length * gate_width;
    static constexpr std::size_t previous = Length * Hidden;
    static constexpr std::size_t states = (Length + 1) * state_width;
    static constexpr std::size_t recurrent_gradient = Cell::same_gate_gradient ? 0 : gates;
    static constexpr std::size_t carry = Hidden + state_width;
    static constexpr std::size_t per_example =
        padded_count(3 * gates + previous + states + recurrent_gradient + carry);

    template <class T>
    struct regions {
        T* gates;
        T* recurrent;
        T* previous;
        T* states;
        T* gate_gradient;
        T* recurrent_gradient;
        T* carry;
        regions(T* saved, std::size_t batch)
            : gates(saved), recurrent(gates + batch * recurrent_memory::gates),
              previous(recurrent + batch * recurrent_memory::gates),
              states(previous + batch * recurrent_memory::previous),
              gate_gradient(states + batch * recurrent_memory::states),
              recurrent_gradient(Cell::same_gate_gradient
                                     ? gate_gradient
                                     : gate_gradient + batch * recurrent_memory::gates),
              carry(recurrent_gradient + batch * recurrent_memory::gates) {}
    };
};

// The passes of a recurrent layer, keyed only by the sizes and the cell: the same
// layer at two places in a network compiles once.
template <std::size_t Length, std::size_t Features, std::size_t Hidden, class Cell>
struct recurrent_passes {
    using memory = recurrent_memory<Length, Hidden, Cell>;
    static constexpr std::size_t gate_width = memory::gate_width;
    static constexpr std::size_t state_width = memory::state_width;
    // The weights' products without their bias (PyTorch's order puts both weights
    // before both biases, so neither pair is one linear layer's slice).
    using input_block = affine_products<Features, gate_width, false>;
    using recurrent_block = affine_products<Hidden, gate_width, false>;
    static constexpr std::size_t recurrent_offset = input_block::bias_offset;
    static constexpr std::size_t input_bias_offset =
        recurrent_offset + recurrent_block::bias_offset;
    static constexpr std::size_t recurrent_bias_offset =
        input_bias_offset + padded_count(gate_width);
    static constexpr std::size_t storage_size = recurrent_bias_offset + padded_count(gate_width);

    // out[r] = a[r] W + bias for `rows` rows of a, RowStride apart, into rows of out
    // OutStride apart: the input projection of every step (rows one step apart) and
    // the recurrent product of one step (rows one example apart).
    template <class T, std::size_t Depth, std::size_t RowStride, std::size_t OutStride>
    static void product_with_bias(const T* a, const T* weights, const T* bias, std::size_t rows,
                                  T* out) noexcept {
        kernels::matmul<T, gate_width, RowStride, 1>(
            a, weights, 0, rows, Depth,
            [=](std::size_t row, std::size_t column, auto& tile) KILN_ALWAYS_INLINE {
                tile.for_each(
                    [&](std::size_t r, std::size_t c, auto& value, auto lanes) KILN_ALWAYS_INLINE {
                        constexpr std::size_t n = decltype(lanes)::value;
                        kernels::store_lanes<n>(out + (row + r) * OutStride + column + c,
                                                value + kernels::load_lanes<n>(bias + column + c));
                    });
            });
    }

    template <class T>
    static void forward(const T* params, const T* x, T* y, T* saved, std::size_t batch) noexcept {
        const typename memory::template regions<T> m(saved, batch);
        product_with_bias<T, Features, Features, gate_width>(x, params, params + input_bias_offset,
                                                             batch * Length, m.gates);
        for (std::size_t b = 0; b < batch; ++b) {
            std::fill_n(m.previous + b * memory::previous, Hidden, T{0});
            std::fill_n(m.states + b * memory::states, state_width, T{0});
        }
        for (std::size_t t = 0; t < Length; ++t) {
            product_with_bias<T, Hidden, memory::previous, memory::gates>(
                m.previous + t * Hidden, params + recurrent_offset, params + recurrent_bias_offset,
                batch, m.recurrent + t * gate_width);
            for (std::size_t b = 0; b < batch; ++b) {
                const std::size_t step = b * memory::gates + t * gate_width;
                T* const h = y + (b * Length + t) * Hidden;
                T* const state = m.states + b * memory::states + t * state_width;
                Cell::template step<Hidden>(m.gates + step, m.recurrent + step,
                                            m.previous + b * memory::previous + t * Hidden, state,
                                            state + state_width, h);
                if (t + 1 < Length)
                    std::copy_n(h, Hidden, m.previous + b * memory::previous + (t + 1) * Hidden);
            }
        }
    }

    // carry[b] += recurrent_gradient[b][t] W_hh^T: the gradient that reaches
    // h_{t-1} through the recurrent product. `transposed` is W_hh^T ([G*H][H])
    // when it fits the stack, else null and the product reads W_hh's rows.
    template <class T>
    static void carry_back(const T* params, const T* transposed, const T* recurrent_gradient,
                           T* carry, std::size_t t, std::size_t batch) noexcept {
        const T* const from = recurrent_gradient + t * gate_width;
        if (transposed != nullptr) {
            kernels::matmul<T, Hidden, memory::gates, 1>(
                from, transposed, 0, batch, gate_width,
                [=](std::size_t row, std::size_t column, auto& tile) KILN_ALWAYS_INLINE {
                    tile.for_each([&](std::size_t r, std::size_t c, auto& value,
                                      auto lanes) KILN_ALWAYS_INLINE {
                        constexpr std::size_t n = decltype(lanes)::value;
                        T* const at = carry + (row + r) * memory::carry + column + c;
                        kernels::store_lanes<n>(at, kernels::load_lanes<n>(at) + value);
                    });
                });
            return;
        }
        for (std::size_t b = 0; b < batch; ++b)
            kernels::matmul_nt<T, gate_width, Hidden>(from + b * memory::gates,
                                                      params + recurrent_offset, 0, 1,
                                                      [&](std::size_t, std::size_t j, T value) {
                                                          carry[b * memory::carry + j] += value;
                                                      });
    }

    template <class T, class Sink>
    static void backward(const T* params, T* scratch, const T* x, T* saved, const T* dy, T* dx,
                         std::size_t batch, Sink& sink) noexcept {
        const typename memory::template regions<T> m(saved, batch);
        for (std::size_t b = 0; b < batch; ++b)
            std::fill_n(m.carry + b * memory::carry, memory::carry, T{0});
        // W_hh^T once for every step, on the stack when it fits (as linear's
        // backward_input does: matmul's tiles instead of matmul_nt's sums).
        constexpr bool on_stack = Hidden * gate_width <= recurrent_block::max_transposed_weights;
        alignas(64) T transposed[on_stack ? Hidden * gate_width : 1];
        if constexpr (on_stack)
            for (std::size_t j = 0; j < Hidden; ++j)
                for (std::size_t g = 0; g < gate_width; ++g)
                    transposed[g * Hidden + j] = params[recurrent_offset + j * gate_width + g];
        for (std::size_t t = Length; t-- > 0;) {
            for (std::size_t b = 0; b < batch; ++b) {
                const std::size_t step = b * memory::gates + t * gate_width;
                const T* const state = m.states + b * memory::states + t * state_width;
                T* const carry = m.carry + b * memory::carry;
                Cell::template step_backward<Hidden>(
                    m.gates + step, m.recurrent + step,
                    m.previous + b * memory::previous + t * Hidden, state, state + state_width,
                    dy + (b * Length + t) * Hidden, carry, carry + Hidden, m.gate_gradient + step,
                    m.recurrent_gradient + step);
            }
            if (t > 0)
                carry_back(params, on_stack ? transposed : nullptr, m.recurrent_gradient, m.carry,
                           t, batch);
        }
        if (dx != nullptr)
            input_block::template backward_input<T, no_activation>(params, nullptr, m.gate_gradient,
                                                                   dx, batch * Length, {});
        const std::size_t rows = batch * Length;
        input_block::backward_params(scratch, x, m.gate_gradient, rows, sink, {});
        auto recurrent_sink = sink.shifted(recurrent_offset);
        recurrent_block::backward_params(scratch + recurrent_offset, m.previous,
                                         m.recurrent_gradient, rows, recurrent_sink, {});
        weights_and_bias::bias_gradient<T, gate_width>(m.gate_gradient, rows, input_bias_offset,
                                                       sink);
        weights_and_bias::bias_gradient<T, gate_width>(m.recurrent_gradient, rows,
                                                       recurrent_bias_offset, sink);
    }
};

} // namespace detail

// The bound layer of a recurrent spec: Spec is what the user wrote (gru<H>,
// lstm<H>), Cell its step. After a mistake it claims a state of at least one value,
// so that the layers after it add no errors of their own.
template <class Spec, class Cell, std::size_t Hidden, class In, std::size_t Position>
struct recurrent_layer
    : layer_base<Spec, In, shape<In::rank == 2 ? In::dims[0] : 1, Hidden == 0 ? 1 : Hidden>,
                 Position> {
    using here = layer<Position, Spec>;
    using broken_rule =
        first_broken<rule<In::rank == 2, error::needs_a_sequence_of_vectors<here, In>>,
                     rule<Hidden != 0, error::layer_size_is_zero<here>>>;
    static constexpr bool valid = broken_rule::holds;

    static constexpr std::size_t length = In::rank == 2 ? In::dims[0] : 1;
    static constexpr std::size_t features = last_dim<In>;
    static constexpr std::size_t hidden = valid ? Hidden : 1;
    using passes = detail::recurrent_passes<length, features, hidden, Cell>;
    static constexpr std::size_t gate_width = passes::gate_width;
    static constexpr std::size_t recurrent_offset = passes::recurrent_offset;

    static constexpr std::size_t param_count = gate_width * (features + hidden + 2);
    static constexpr std::size_t storage_size = passes::storage_size;
    static constexpr std::size_t saved_per_example = passes::memory::per_example;
    static constexpr std::size_t flops_per_example = 2 * length * gate_width * (features + hidden);
    // nn.GRU's and nn.LSTM's names for a single layer; kiln stores the weights
    // transposed.
    static constexpr std::array parameter_parts{
        parameter_part{"weight_ih_l0", 0, {gate_width, features}, {1, 0}},
        parameter_part{"weight_hh_l0", recurrent_offset, {gate_width, hidden}, {1, 0}},
        parameter_part{"bias_ih_l0", passes::input_bias_offset, {gate_width}},
        parameter_part{"bias_hh_l0", passes::recurrent_bias_offset, {gate_width}}};

    // PyTorch draws every weight and bias of nn.GRU / nn.LSTM from U(+-1/sqrt(H)):
    // weights_and_bias::initialize with fan_in H for both blocks.
    template <class T, class Scheme>
    static void initialize(T* params, rng& random, const Scheme& scheme) {
        constexpr bool torch = std::is_same_v<Scheme, init::pytorch_default>;
        weights_and_bias::initialize(params, features * gate_width,
                                     params + passes::input_bias_offset, gate_width,
                                     torch ? hidden : features, gate_width, random, scheme);
        weights_and_bias::initialize(params + recurrent_offset, hidden * gate_width,
                                     params + passes::recurrent_bias_offset, gate_width, hidden,
                                     gate_width, random, scheme);
    }

    template <class T>
    static void forward(const T* params, const T* x, T* y, T* saved, std::size_t batch) noexcept {
        if constexpr (valid) passes::forward(params, x, y, saved, batch);
    }

    template <class T, class Sink>
    static void backward(const T* params, T* scratch, const T* x, const T*, T* saved, const T* dy,
                         T* dx, std::size_t batch, Sink& sink) noexcept {
        if constexpr (valid) passes::backward(params, scratch, x, saved, dy, dx, batch, sink);
    }
};

// What gru<H> and lstm<H> are: a spec named by its cell (Cell::spec_name) that
// binds to a recurrent_layer. Spec is the type the user wrote, so that
// diagnostics and summaries name it as written.
template <class Cell, std::size_t Hidden, class Spec>
struct recurrent_spec {
    static std::string name() { return bracketed(Cell::spec_name, {Hidden}, ">"); }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : recurrent_layer<Spec, Cell, Hidden, In, Position> {};
};

} // namespace kiln
