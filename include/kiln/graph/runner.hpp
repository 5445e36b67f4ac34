#pragma once
// kiln::runner<In, Layers>: the one implementation of running a list of bound
// layers, for a whole network (graph/model.hpp, workspace.hpp, propagate.hpp) and
// for the network inside a composite layer (residual, repeat) alike. It decides,
// at compile time,
//   - where each layer's parameters sit in the network's flat buffer
//     (param_offsets: one slice after another);
//   - where each layer's output, its saved state and backward's two gradient
//     buffers sit in one block of memory, laid out per example so that for a batch
//     of n examples every part starts at n * its offset (a view layer's output is
//     its input's memory);
// and runs forward (first layer to last) and backward (last to first, the gradient
// ping-ponging between the two buffers) as unrolled code, each call specialised on
// its layer's sizes.
//
// How a plain layer's pass runs is the executor's choice: on_this_core runs it
// whole; a network's workspace splits it between its pool's cores (propagate.hpp).
#include "kiln/core/aligned_buffer.hpp"
#include "kiln/core/always_inline.hpp"
#include "kiln/core/rng.hpp"
#include "kiln/core/static_for.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/core/type_list.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/optim/gradient_sink.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>

namespace kiln {

// Which pass of a layer an executor runs: a forward pass only reads the layer's
// parameters; a backward pass may update them (an optimizer's fused sink).
enum class pass_kind { forward, backward };

// Runs a plain layer's pass whole, on the calling core. It has no room for a
// layer's partial sums (layers/layer.hpp: gradient_partials).
struct on_this_core {
    template <class Layer, class T, pass_kind Kind, class Pass>
    [[gnu::always_inline]] void run(std::size_t, Pass&& pass) const {
        pass(work_share{});
    }
    template <class T>
    T* partials() const noexcept {
        return nullptr;
    }
};

template <class Layer>
inline constexpr std::size_t gradient_partials_of = [] {
    if constexpr (partial_summing_layer<Layer>)
        return Layer::gradient_partials;
    else
        return std::size_t{0};
}();

template <class Layer>
inline constexpr std::size_t saved_per_example_of = [] {
    if constexpr (stateful_layer<Layer>)
        return Layer::saved_per_example;
    else if constexpr (summing_layer<Layer>)
        return Layer::sums_per_example;
    else
        return std::size_t{0};
}();

template <class In, class Layers>
struct runner;

template <class In, class... Layers>
struct runner<In, type_list<Layers...>> {
    using layers = type_list<Layers...>;
    static constexpr std::size_t count = sizeof...(Layers);
    // Layer K, from 0.
    template <std::size_t K>
    using layer_t = type_at<K, layers>;
    using in_shape = In;
    using out_shape = type_at<count, type_list<In, typename Layers::out_shape...>>;

    static constexpr std::size_t param_count = (std::size_t{0} + ... + Layers::param_count);

    // param_offsets[K]: where layer K's slice starts; param_offsets[count]: the whole.
    static constexpr std::array<std::size_t, count + 1> param_offsets = [] {
        constexpr std::array<std::size_t, count> sizes{Layers::storage_size...};
        std::array<std::size_t, count + 1> result{};
        for (std::size_t k = 0; k < count; ++k)
            result[k + 1] = result[k] + sizes[k];
        return result;
    }();
    static constexpr std::size_t storage_size = param_offsets[count];
    // Room for the partial sums of any one layer's parameter gradient.
    static constexpr std::size_t gradient_partials =
        std::max({std::size_t{0}, gradient_partials_of<Layers>...});

    // Output K (0 = the input, K + 1 = layer K's) lives in output owner[K]'s place.
    static constexpr std::array<std::size_t, count + 1> owner = [] {
        constexpr std::array<bool, count> views{Layers::is_view...};
        std::array<std::size_t, count + 1> result{};
        for (std::size_t k = 0; k < count; ++k)
            result[k + 1] = views[k] ? result[k] : k + 1;
        return result;
    }();

    // Per-example offsets of each owned output, each layer's state and the two
    // gradient buffers; total is what one example takes.
    struct memory_layout {
        std::array<std::size_t, count + 1> output{};
        std::array<std::size_t, count + 1> state{};
        std::array<std::size_t, 2> gradient{};
        std::size_t total = 0;
    };
    static constexpr memory_layout layout = [] {
        constexpr std::array<std::size_t, count + 1> sizes{In::size, Layers::out_shape::size...};
        constexpr std::array<std::size_t, count + 1> states{0, saved_per_example_of<Layers>...};
        memory_layout result;
        std::size_t offset = 0;
        std::size_t widest = 0; // gradients of the outputs; d input goes to the caller's dx
        for (std::size_t k = 1; k <= count; ++k) {
            if (owner[k] == k) {
                result.output[k] = offset;
                offset += padded_count(sizes[k]);
            }
            widest = std::max(widest, padded_count(sizes[k]));
        }
        for (std::size_t k = 1; k <= count; ++k) {
            result.state[k] = offset;
            offset += padded_count(states[k]);
        }
        result.gradient = {offset, offset + widest};
        result.total = offset + 2 * widest;
        return result;
    }();
    static constexpr std::size_t saved_per_example = layout.total;

    // Output K for a batch of `batch` examples in `memory` (x is output 0).
    template <std::size_t K, class T>
    [[gnu::always_inline]] static T* output(T* memory, const T* x, std::size_t batch) noexcept {
        if constexpr (owner[K] == 0)
            return const_cast<T*>(x);
        else
            return memory + batch * layout.output[owner[K]];
    }
    // Layer K's saved state.
    template <std::size_t K, class T>
    [[gnu::always_inline]] static T* state(T* memory, std::size_t batch) noexcept {
        return memory + batch * layout.state[K + 1];
    }
    // Backward's gradient buffer 0 or 1; buffer 0 takes d loss / d output first.
    template <class T>
    static T* gradient_buffer(T* memory, std::size_t batch, std::size_t which) noexcept {
        return memory + batch * layout.gradient[which];
    }
    // Where forward left the last output (x itself when every layer is a view).
    template <class T>
    static const T* result(T* memory, const T* x, std::size_t batch) noexcept {
        return output<count>(memory, x, batch);
    }

    // The runs of the parameters an optimizer trains (layers/layer.hpp), from `at`.
    template <class F>
    static constexpr void for_trained_runs(std::size_t at, F&& f) {
        static_for<count>(
            [&](auto k) { kiln::for_trained_runs<layer_t<k>>(at + param_offsets[k], f); });
    }

    // Layers draw in order, from the first to the last.
    template <class T, class Scheme>
    static void initialize(T* params, rng& random, const Scheme& scheme) {
        static_for<count>(
            [&](auto k) { layer_t<k>::initialize(params + param_offsets[k], random, scheme); });
    }

    // Runs every layer on x; returns where the last output is. Layers that read the
    // mode (layers/layer.hpp) get `mode`; evaluation unless said otherwise.
    template <class T, class Executor = on_this_core>
    static const T* forward(const T* params, const T* x, T* memory, std::size_t batch,
                            const Executor& executor = {}, const pass_mode& mode = {}) {
        static_for<count>([&](auto k) KILN_ALWAYS_INLINE {
            constexpr std::size_t K = k;
            using layer = layer_t<K>;
            const T* const layer_params = params + param_offsets[K];
            const T* const in = output<K>(memory, x, batch);
            T* const out = output<K + 1>(memory, x, batch);
            if constexpr (layer::is_view)
                return;
            else if constexpr (stateful_layer<layer> && mode_reading_layer<layer>)
                layer::forward(layer_params, in, out, state<K>(memory, batch), batch, mode);
            else if constexpr (stateful_layer<layer>)
                layer::forward(layer_params, in, out, state<K>(memory, batch), batch);
            else if constexpr (summing_layer<layer>) {
                T* const sums = state<K>(memory, batch);
                executor.template run<layer, T, pass_kind::forward>(batch, [&](work_share share) {
                    layer::forward_sums(layer_params, in, sums, batch, share, mode);
                });
                executor.template run<layer, T, pass_kind::forward>(batch, [&](work_share share) {
                    layer::forward(layer_params, in, out, sums, batch, share, mode);
                });
            } else if constexpr (mode_reading_layer<layer>)
                executor.template run<layer, T, pass_kind::forward>(batch, [&](work_share share) {
                    layer::forward(layer_params, in, out, batch, share, mode);
                });
            else
                executor.template run<layer, T, pass_kind::forward>(batch, [&](work_share share) {
                    layer::forward(layer_params, in, out, batch, share);
                });
        });
        return result(memory, x, batch);
    }

    // Back-propagates dy (d loss / d the last output) from the last layer to the
    // first, after a forward of the same batch in `memory`; writes d loss / d input
    // to dx unless it is null. Layer K hands its parameter gradients to
    // sink.shifted(param_offsets[K]) and sums partial ones in its slice of scratch.
    // dy may be gradient_buffer(memory, batch, 0); `mode` is the forward pass's.
    template <class T, class Sink, class Executor = on_this_core>
    static void backward(const T* params, T* scratch, const T* x, T* memory, const T* dy, T* dx,
                         std::size_t batch, Sink& sink, const Executor& executor = {},
                         const pass_mode& mode = {}) {
        T* const buffers[2] = {gradient_buffer(memory, batch, 0),
                               gradient_buffer(memory, batch, 1)};
        const T* current = dy;
        static_for_reverse<count>([&](auto k) KILN_ALWAYS_INLINE {
            constexpr std::size_t K = k;
            using layer = layer_t<K>;
            // d loss / d (layer K's input) is needed by a layer before with
            // parameters, or by the caller.
            const bool gradient_below = has_parameters_before<K> || dx != nullptr;
            if constexpr (layer::passes_gradient) {
                if (K == 0 && dx != nullptr)
                    std::copy_n(current, batch * layer::in_shape::size, dx);
                return;
            } else {
                if (layer::param_count == 0 && !gradient_below) return;
                T* const into = K == 0                  ? dx
                                : !gradient_below       ? nullptr
                                : current == buffers[0] ? buffers[1]
                                                        : buffers[0];
                const T* const layer_params = params + param_offsets[K];
                T* const layer_scratch = scratch + param_offsets[K];
                auto layer_sink = sink.shifted(param_offsets[K]);
                const T* const in = output<K>(memory, x, batch);
                const T* const out = output<K + 1>(memory, x, batch);
                if constexpr (stateful_layer<layer> && mode_reading_layer<layer>) {
                    layer::backward(layer_params, layer_scratch, in, out, state<K>(memory, batch),
                                    current, into, batch, layer_sink, mode);
                } else if constexpr (stateful_layer<layer>) {
                    layer::backward(layer_params, layer_scratch, in, out, state<K>(memory, batch),
                                    current, into, batch, layer_sink);
                } else {
                    // The input gradient first: it reads the parameters the sink may update.
                    if (into != nullptr || input_pass_writing_scratch<layer>) {
                        const T* const gate = gate_of<K>(memory, x, batch);
                        T* const sums = state<K>(memory, batch);
                        if constexpr (summing_layer<layer>)
                            executor.template run<layer, T, pass_kind::backward>(
                                batch, [&](work_share share) {
                                    layer::backward_sums(layer_params, gate, current, sums, batch,
                                                         share, mode);
                                });
                        executor.template run<layer, T, pass_kind::backward>(
                            batch, [&](work_share share) {
                                backward_input<layer>(layer_params, layer_scratch, gate, out,
                                                      current, into, sums, batch, share, mode);
                            });
                    }
                    // Split by examples where the layer and the executor can (layers/layer.hpp).
                    T* partials = nullptr;
                    if constexpr (partial_summing_layer<layer>) {
                        static_assert(!mode_reading_layer<layer>,
                                      "kiln: backward_partials takes no mode (layers/layer.hpp)");
                        partials = executor.template partials<T>();
                        if (partials != nullptr) {
                            executor.template run<layer, T, pass_kind::backward>(
                                batch, [&](work_share share) {
                                    layer::backward_partials(layer_params, layer_scratch, in, out,
                                                             current, partials, batch, layer_sink,
                                                             share);
                                });
                            executor.template run<layer, T, pass_kind::backward>(
                                batch, [&](work_share share) {
                                    layer::combine_partials(partials, batch, layer_sink, share);
                                });
                        }
                    }
                    if constexpr (layer::param_count != 0)
                        if (partials == nullptr)
                            executor.template run<layer, T, pass_kind::backward>(
                                batch, [&](work_share share) {
                                    if constexpr (mode_reading_layer<layer>)
                                        layer::backward_params(layer_params, layer_scratch, in, out,
                                                               current, batch, layer_sink, share,
                                                               mode);
                                    else
                                        layer::backward_params(layer_params, layer_scratch, in, out,
                                                               current, batch, layer_sink, share);
                                });
                }
                // A sink that asks is told when a layer's gradient is whole (a data-parallel
                // step starts summing it over processes while the layers below run).
                // (Two conditions: clang checks a call inside the generic lambda that
                // depends on Sink alone unless a condition on Sink alone discards it.)
                if constexpr (announcing_sink<Sink>)
                    if constexpr (layer::param_count != 0)
                        sink.gradients_final(param_offsets[K], layer::param_count);
                current = into;
            }
        });
    }

private:
    // A layer's backward_input, with the arguments it declares it takes
    // (layers/layer.hpp): scratch, the sums, the mode.
    template <class Layer, class T>
    KILN_ALWAYS_INLINE static void
    backward_input(const T* params, T* scratch, const T* x, const T* y, const T* dy, T* dx, T* sums,
                   std::size_t batch, work_share share, const pass_mode& mode) {
        if constexpr (summing_layer<Layer>)
            Layer::backward_input(params, scratch, x, y, dy, dx, sums, batch, share, mode);
        else if constexpr (input_pass_writing_scratch<Layer> && mode_reading_layer<Layer>)
            Layer::backward_input(params, scratch, x, y, dy, dx, batch, share, mode);
        else if constexpr (input_pass_writing_scratch<Layer>)
            Layer::backward_input(params, scratch, x, y, dy, dx, batch, share);
        else if constexpr (mode_reading_layer<Layer>)
            Layer::backward_input(params, x, y, dy, dx, batch, share, mode);
        else
            Layer::backward_input(params, x, y, dy, dx, batch, share);
    }

    // Whether any layer before layer K has parameters.
    template <std::size_t K>
    static constexpr bool has_parameters_before = [] {
        constexpr std::array<std::size_t, count + 1> counts{Layers::param_count..., 0};
        for (std::size_t j = 0; j < K; ++j)
            if (counts[j] != 0) return true;
        return false;
    }();

    // What layer K's backward_input gets as x: its input, or, when it absorbs the
    // gradient of an activation that reads its own input (graph/lowering.hpp),
    // that activation's input.
    template <std::size_t K, class T>
    static const T* gate_of(T* memory, const T* x, std::size_t batch) noexcept {
        if constexpr (K > 0 && !absorbed_by<layer_t<K>>::derivative_reads_output)
            return output<K - 1>(memory, x, batch);
        else
            return output<K>(memory, x, batch);
    }
};

} // namespace kiln
