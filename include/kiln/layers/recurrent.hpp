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

// The memory of a recurrent layer's pass, as regions of the whole batch, each
// step by step: step t holds every example's part, one after another (rows
// [t * batch, (t + 1) * batch)), so that a step's recurrent product, its cells and
// its carried gradient read and write contiguous rows. Laid out example by example
// instead, the rows of a step were Length * G*H floats apart, a multiple of 4 KiB
// that sent all of them to the same cache sets. Per example:
//   gates        [Length][G*H]  the input projection, then the gates' values
//   recurrent    [Length][G*H]  h_{t-1} W_hh + b_hh
//   previous     [Length][H]    h_{t-1} (zero at t = 0)
//   inputs       [Length][I]    the input x, step by step (the layer gets it
//                               example by example)
//   states       [Length + 1][S] the cell's own state before each step (LSTM's c)
//   gate_grad    [Length][G*H]  the gradient of the gates' pre-activations
//   recurrent_grad [Length][G*H] the same for h W_hh + b_hh, where it differs (GRU)
//   carry        [H + S]        the gradient flowing to the step before
// The products over every step (the input projection, the input gradient, the
// weights' gradients) see batch * Length rows in step order.
template <std::size_t Length, std::size_t Features, std::size_t Hidden, class Cell>
struct recurrent_memory {
    static constexpr std::size_t gate_width = Cell::gates * Hidden;
    static constexpr std::size_t state_width = Cell::carries_state ? Hidden : 0;
    static constexpr std::size_t gates = Length * gate_width;
    static constexpr std::size_t previous = Length * Hidden;
    static constexpr std::size_t inputs = Length * Features;
    static constexpr std::size_t states = (Length + 1) * state_width;
    static constexpr std::size_t recurrent_gradient = Cell::same_gate_gradient ? 0 : gates;
    static constexpr std::size_t carry = Hidden + state_width;
    static constexpr std::size_t per_example =
        padded_count(3 * gates + previous + inputs + states + recurrent_gradient + carry);

    template <class T>
    struct regions {
        T* gates;
        T* recurrent;
        T* previous;
        T* inputs;
        T* states;
        T* gate_gradient;
        T* recurrent_gradient;
        T* carry;
        regions(T* saved, std::size_t batch)
            : gates(saved), recurrent(gates + batch * recurrent_memory::gates),
              previous(recurrent + batch * recurrent_memory::gates),
              inputs(previous + batch * recurrent_memory::previous),
              states(inputs + batch * recurrent_memory::inputs),
              gate_gradient(states + batch * recurrent_memory::states),
              recurrent_gradient(Cell::same_gate_gradient
                                     ? gate_gradient
                                     : gate_gradient + batch * recurrent_memory::gates),
              carry(recurrent_gradient + batch * recurrent_memory::gates) {}
    };
};

// W^T ([Columns][Rows]) of a row-major W ([Rows][Columns]): the layout in which
// matmul's register tiles take a product with W^T (matmul_nt's sums are slower).
template <class T, std::size_t Rows, std::size_t Columns>
void transpose_into(const T* w, T* transposed) noexcept {
    for (std::size_t i = 0; i < Rows; ++i)
        for (std::size_t j = 0; j < Columns; ++j)
            transposed[j * Rows + i] = w[i * Columns + j];
}

// The passes of a recurrent layer, keyed only by the sizes and the cell: the same
// layer at two places in a network compiles once.
template <std::size_t Length, std::size_t Features, std::size_t Hidden, class Cell>
struct recurrent_passes {
    using memory = recurrent_memory<Length, Features, Hidden, Cell>;
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

    // out[r] = a[r] W + bias for `rows` contiguous rows of a (Depth wide) into
    // contiguous rows of out: the input projection of every step, and the
    // recurrent product of one step.
    template <class T, std::size_t Depth>
    static void product_with_bias(const T* a, const T* weights, const T* bias, std::size_t rows,
                                  T* out) noexcept {
        kernels::matmul<T, gate_width, Depth, 1>(
            a, weights, 0, rows, Depth,
            [=](std::size_t row, std::size_t column, auto& tile) KILN_ALWAYS_INLINE {
                tile.for_each(
                    [&](std::size_t r, std::size_t c, auto& value, auto lanes) KILN_ALWAYS_INLINE {
                        constexpr std::size_t n = decltype(lanes)::value;
                        kernels::store_lanes<n>(out + (row + r) * gate_width + column + c,
                                                value + kernels::load_lanes<n>(bias + column + c));
                    });
            });
    }

    template <class T>
    static void forward(const T* params, const T* x, T* y, T* saved, std::size_t batch) noexcept {
        const typename memory::template regions<T> m(saved, batch);
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t t = 0; t < Length; ++t)
                std::copy_n(x + (b * Length + t) * Features, Features,
                            m.inputs + (t * batch + b) * Features);
        product_with_bias<T, Features>(m.inputs, params, params + input_bias_offset, batch * Length,
                                       m.gates);
        std::fill_n(m.previous, batch * Hidden, T{0});
        std::fill_n(m.states, batch * state_width, T{0});
        for (std::size_t t = 0; t < Length; ++t) {
            const std::size_t first = t * batch; // the step's first row
            product_with_bias<T, Hidden>(m.previous + first * Hidden, params + recurrent_offset,
                                         params + recurrent_bias_offset, batch,
                                         m.recurrent + first * gate_width);
            for (std::size_t b = 0; b < batch; ++b) {
                const std::size_t row = first + b;
                T* const h = y + (b * Length + t) * Hidden;
                Cell::template step<Hidden>(m.gates + row * gate_width,
                                            m.recurrent + row * gate_width,
                                            m.previous + row * Hidden, m.states + row * state_width,
                                            m.states + (row + batch) * state_width, h);
                if (t + 1 < Length) std::copy_n(h, Hidden, m.previous + (row + batch) * Hidden);
            }
        }
    }

    // carry[b] += recurrent_gradient[b] W_hh^T for the rows of one step: the
    // gradient that reaches h_{t-1} through the recurrent product.
    template <class T>
    static void carry_back(const T* transposed, const T* recurrent_gradient, T* carry,
                           std::size_t batch) noexcept {
        kernels::matmul<T, Hidden, gate_width, 1>(
            recurrent_gradient, transposed, 0, batch, gate_width,
            [=](std::size_t row, std::size_t column, auto& tile) KILN_ALWAYS_INLINE {
                tile.for_each(
                    [&](std::size_t r, std::size_t c, auto& value, auto lanes) KILN_ALWAYS_INLINE {
                        constexpr std::size_t n = decltype(lanes)::value;
                        T* const at = carry + (row + r) * memory::carry + column + c;
                        kernels::store_lanes<n>(at, kernels::load_lanes<n>(at) + value);
                    });
            });
    }

    // sum += row, gate_width values.
    template <class T>
    [[gnu::always_inline]] static void add_row(const T* row, T* sum) noexcept {
        each_register<T, gate_width>([&](std::size_t c, auto lanes) KILN_ALWAYS_INLINE {
            constexpr std::size_t n = decltype(lanes)::value;
            kernels::store_lanes<n>(sum + c, kernels::load_lanes<n>(sum + c) +
                                                 kernels::load_lanes<n>(row + c));
        });
    }

    // dx = gate_gradient W_ih^T, from rows in step order into dx's example order.
    template <class T>
    static void input_gradient(const T* transposed, const T* gate_gradient, T* dx,
                               std::size_t batch) noexcept {
        kernels::matmul<T, Features, gate_width, 1>(
            gate_gradient, transposed, 0, batch * Length, gate_width,
            [=](std::size_t row, std::size_t column, auto& tile) KILN_ALWAYS_INLINE {
                tile.for_each([&](std::size_t r, std::size_t c, auto& value,
                                  auto lanes) KILN_ALWAYS_INLINE {
                    constexpr std::size_t n = decltype(lanes)::value;
                    const std::size_t t = (row + r) / batch, b = (row + r) % batch;
                    kernels::store_lanes<n>(dx + (b * Length + t) * Features + column + c, value);
                });
            });
    }

    template <class T, class Sink>
    static void backward(const T* params, T* scratch, const T*, T* saved, const T* dy, T* dx,
                         std::size_t batch, Sink& sink) noexcept {
        const typename memory::template regions<T> m(saved, batch);
        std::fill_n(m.carry, batch * memory::carry, T{0});
        // W_hh^T and W_ih^T, once for every step, in the scratch of their own
        // gradients: buffers of the same sizes, unused until the products at the
        // end, which any size of weights fits (the stack does not).
        T* const recurrent_transposed = scratch + recurrent_offset;
        transpose_into<T, Hidden, gate_width>(params + recurrent_offset, recurrent_transposed);
        // The biases' gradients, summed in their scratch row by row as each step's
        // rows are made (in cache), not in a pass over every row at the end.
        T* const input_bias_sum = scratch + input_bias_offset;
        T* const recurrent_bias_sum = scratch + recurrent_bias_offset;
        std::fill_n(input_bias_sum, gate_width, T{0});
        std::fill_n(recurrent_bias_sum, gate_width, T{0});
        for (std::size_t t = Length; t-- > 0;) {
            const std::size_t first = t * batch;
            for (std::size_t b = 0; b < batch; ++b) {
                const std::size_t row = first + b;
                T* const carry = m.carry + b * memory::carry;
                Cell::template step_backward<Hidden>(
                    m.gates + row * gate_width, m.recurrent + row * gate_width,
                    m.previous + row * Hidden, m.states + row * state_width,
                    m.states + (row + batch) * state_width, dy + (b * Length + t) * Hidden, carry,
                    carry + Hidden, m.gate_gradient + row * gate_width,
                    m.recurrent_gradient + row * gate_width);
                add_row(m.gate_gradient + row * gate_width, input_bias_sum);
                add_row(m.recurrent_gradient + row * gate_width, recurrent_bias_sum);
            }
            if (t > 0)
                carry_back(recurrent_transposed, m.recurrent_gradient + first * gate_width, m.carry,
                           batch);
        }
        if (dx != nullptr) {
            transpose_into<T, Features, gate_width>(params, scratch);
            input_gradient(static_cast<const T*>(scratch), m.gate_gradient, dx, batch);
        }
        const std::size_t rows = batch * Length;
        input_block::backward_params(scratch, m.inputs, m.gate_gradient, rows, sink, {});
        auto recurrent_sink = sink.shifted(recurrent_offset);
        recurrent_block::backward_params(scratch + recurrent_offset, m.previous,
                                         m.recurrent_gradient, rows, recurrent_sink, {});
        weights_and_bias::bias_gradient<T, gate_width>(input_bias_sum, 1, input_bias_offset, sink);
        weights_and_bias::bias_gradient<T, gate_width>(recurrent_bias_sum, 1, recurrent_bias_offset,
                                                       sink);
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
