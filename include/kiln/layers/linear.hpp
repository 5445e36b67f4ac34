#pragma once
// kiln::linear<Out>: y = x W + b on the last axis of each example, like
// PyTorch's nn.Linear (a rank-2 example is a sequence of vectors, each mapped).
// W is stored [in][out], row-major: the course's numpy layout, and the one in
// which all three products read contiguous rows. kiln::linear_no_bias<Out> drops b.
#include "kiln/core/aligned_buffer.hpp"
#include "kiln/core/always_inline.hpp"
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/names.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/graph/layer_view.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/kernels/gemm.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/layers/weights_and_bias.hpp"

#include <string>
#include <type_traits>

namespace kiln {

namespace error {
template <class Layer>
struct layer_size_is_zero {
    static void report() {
        static_assert(facts_of_the_error<Layer>,
                      "kiln: a layer of size zero cannot work: every layer needs at least one "
                      "output. Fix: give the layer (its position in the network is the first "
                      "argument of kiln::layer<...>) a size of at least 1.");
    }
};
} // namespace error

// The three products of an affine layer over `rows` vectors, keyed only by what
// shapes their code. While they lived in bind, whose type names the layer's
// position and neighbours, the transformer's linear<256> compiled once per block
// and per sweep configuration: 24 copies of the same kernels in examples/gpt.
template <std::size_t InFeatures, std::size_t Out, bool HasBias>
struct affine_products {
    static constexpr std::size_t weight_count = InFeatures * Out;
    // W[i][o] at i * Out + o; the bias starts on its own cache line.
    static constexpr std::size_t bias_offset = padded_count(weight_count);

    // The weight gradient sums over the rows in chunks, so that a chunk of dy (or,
    // when that is larger than L2, one panel of it) stays in cache while the tiles
    // of W are visited; each chunk but the last passes its partial sums through
    // memory, so chunks are as long as the caches allow (kernels/blocking.hpp).
    template <class T>
    static std::size_t batch_chunk() noexcept {
        constexpr std::size_t panel_columns = kernels::tile_registers * simd::width<T>;
        constexpr std::size_t panel_row_bytes =
            (Out < panel_columns ? Out : panel_columns) * sizeof(T);
        return kernels::blocking_in_use().gradient_rows(panel_row_bytes,
                                                        kernels::tile_rows * sizeof(T));
    }

    // Up to this many weights (256 KiB of floats), backward_input transposes W onto
    // the stack and uses matmul's register tiles: matmul_nt's horizontal sums made
    // the input gradients half of a transformer step (64- and 256-wide layers, 512
    // rows) and a quarter of CNN3's linear<10> pass.
    static constexpr std::size_t max_transposed_weights = 65536;

    template <class T, class Activation>
    static void forward(const T* params, const T* x, T* y, std::size_t rows_in_all,
                        work_share share) noexcept {
        const T* const bias_values = params + bias_offset;
        const auto [rows, blocks] = weights_and_bias::split<T, Out>(rows_in_all, share);
        kernels::matmul<T, Out, InFeatures, 1>(
            x, params, rows.begin, rows.end, InFeatures,
            [=](std::size_t row, std::size_t column, auto& tile) KILN_ALWAYS_INLINE {
                tile.for_each(
                    [&](std::size_t r, std::size_t c, auto& value, auto lanes) KILN_ALWAYS_INLINE {
                        constexpr std::size_t n = decltype(lanes)::value;
                        auto out = value;
                        if constexpr (HasBias)
                            out += kernels::load_lanes<n>(bias_values + column + c);
                        out = Activation::apply(out);
                        kernels::store_lanes<n>(y + (row + r) * Out + column + c, out);
                    });
            },
            blocks.begin, blocks.end, share.packing);
    }

    // `gate` holds what Absorbed's derivative reads (graph/lowering.hpp).
    template <class T, class Absorbed>
    static void backward_input(const T* params, const T* gate, const T* dy, T* dx,
                               std::size_t rows_in_all, work_share share) noexcept {
        if constexpr (weight_count <= max_transposed_weights) {
            alignas(64) T transposed[weight_count]; // [Out][InFeatures]
            for (std::size_t i = 0; i < InFeatures; ++i)
                for (std::size_t o = 0; o < Out; ++o)
                    transposed[o * InFeatures + i] = params[i * Out + o];
            const auto rows = share.rows(rows_in_all, kernels::tile_rows);
            kernels::matmul<T, InFeatures, Out, 1>(
                dy, transposed, rows.begin, rows.end, Out,
                [=](std::size_t row, std::size_t column, auto& tile) KILN_ALWAYS_INLINE {
                    tile.for_each([&](std::size_t r, std::size_t c, auto& value,
                                      auto lanes) KILN_ALWAYS_INLINE {
                        constexpr std::size_t n = decltype(lanes)::value;
                        const std::size_t at = (row + r) * InFeatures + column + c;
                        auto out = value;
                        if constexpr (!std::is_same_v<Absorbed, no_activation>)
                            out = Absorbed::backward(kernels::load_lanes<n>(gate + at), out);
                        kernels::store_lanes<n>(dx + at, out);
                    });
                });
            return;
        }
        const auto rows = share.rows(rows_in_all, 4);
        kernels::matmul_nt<T, Out, InFeatures>(
            dy, params, rows.begin, rows.end,
            [&](std::size_t r, std::size_t i, T value) { dx[r * InFeatures + i] = value; });
        // Too wide for registers along the row: the derivative in a pass of its own.
        if constexpr (!std::is_same_v<Absorbed, no_activation>) {
            const std::size_t first = rows.begin * InFeatures;
            simd::map(
                rows.end * InFeatures - first, dx + first,
                [](const simd::vec<T>& s, const simd::vec<T>& g) {
                    return Absorbed::backward(s, g);
                },
                gate + first, static_cast<const T*>(dx + first));
        }
    }

    template <class T, class Sink>
    static void backward_params(T* scratch, const T* x, const T* dy, std::size_t rows, Sink& sink,
                                work_share share) noexcept {
        const auto [weight_rows, blocks] = weights_and_bias::split<T, Out>(InFeatures, share);
        // Chunks of the rows: all but the last leave partial sums in scratch (the
        // layer's gradient slice); the last adds them and hands over the total.
        const std::size_t chunk = batch_chunk<T>();
        for (std::size_t first = 0; first < rows; first += chunk) {
            const std::size_t count = rows - first < chunk ? rows - first : chunk;
            const bool first_chunk = first == 0;
            const bool last_chunk = first + count == rows;
            kernels::matmul<T, Out, 1, InFeatures>(
                x + first * InFeatures, dy + first * Out, weight_rows.begin, weight_rows.end, count,
                weights_and_bias::gradient_chunk<Out>(scratch, sink, first_chunk, last_chunk),
                blocks.begin, blocks.end, share.packing);
        }
        if constexpr (HasBias)
            if (share.index == 0)
                weights_and_bias::bias_gradient<T, Out>(dy, rows, bias_offset, sink);
    }
};

// The layer behind linear and linear_no_bias. Spec is the type the user wrote, so
// that diagnostics and summaries name it as written.
template <std::size_t Out, bool HasBias, class Spec>
struct affine_layer {
    static constexpr std::size_t out_features = Out;
    static constexpr bool has_bias = HasBias;
    static std::string name() {
        return bracketed(has_bias ? "linear<" : "linear_no_bias<", {Out}, ">");
    }

    // Fusion roles (graph/lowering.hpp): an activation after it is applied in the
    // epilogue that stores its output; one before it is undone in the epilogue that
    // stores its input gradient.
    static constexpr bool has_activation_epilogue = true;
    static constexpr bool absorbs_activation_gradient = true;

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : layer_base<Spec, In, replace_last_t<In, Out>, Position> {
        using broken_rule =
            first_broken<rule<Out != 0, error::layer_size_is_zero<layer<Position, Spec>>>>;
        static constexpr bool valid = broken_rule::holds;

        static constexpr std::size_t in_features = last_dim<In>;
        // Vectors mapped per example: 1 for a vector, the sequence length for a sequence.
        static constexpr std::size_t rows_per_example = In::size / in_features;
        static constexpr std::size_t weight_count = in_features * Out;
        static constexpr std::size_t bias_count = has_bias ? Out : 0;
        static constexpr std::size_t param_count = weight_count + bias_count;
        // Lowering (graph/lowering.hpp): the activation after this layer that it
        // applies as it stores, and the one before whose derivative it applies to
        // the input gradient it computes (no_activation when none fuses).
        using applied = applied_activation<Spec, Next>;
        using absorbed = absorbed_activation<Previous, Spec>;

        using products = affine_products<in_features, Out, has_bias>;

        // Within the layer's slice: W[i][o] at weight_at(i, o); the bias starts on
        // its own cache line.
        static constexpr std::size_t bias_offset = products::bias_offset;
        static constexpr std::size_t storage_size = bias_offset + padded_count(bias_count);
        static constexpr std::size_t weight_at(std::size_t i, std::size_t o) { return i * Out + o; }
        static constexpr auto parameter_parts = [] {
            if constexpr (has_bias)
                return std::array{parameter_part{"weight", 0, {Out, in_features}, {1, 0}},
                                  parameter_part{"bias", bias_offset, {Out}}};
            else
                return std::array{parameter_part{"weight", 0, {Out, in_features}, {1, 0}}};
        }();
        static constexpr std::size_t bias_at(std::size_t o) { return bias_offset + o; }

        template <class T, class Scheme>
        static void initialize(T* params, rng& random, const Scheme& scheme) {
            weights_and_bias::initialize(params, weight_count, params + bias_offset, bias_count,
                                         in_features, Out, random, scheme);
        }

        // Multiply-adds per example, for deciding whether a pass is worth splitting.
        static constexpr std::size_t flops_per_example = 2 * rows_per_example * weight_count;

        // y[r] = b + x[r] W, then relu when it is fused in; this share's batch rows.
        template <class T>
        static void forward(const T* params, const T* x, T* y, std::size_t batch,
                            work_share share = {}) noexcept {
            products::template forward<T, applied>(params, x, y, batch * rows_per_example, share);
        }

        // dx[r] = dy[r] W^T, times the derivative of the activation before when it is
        // fused in (x then holds what that derivative reads); this share's batch
        // rows. Runs before backward_params, which may update W.
        template <class T>
        static void backward_input(const T* params, const T* x, const T*, const T* dy, T* dx,
                                   std::size_t batch, work_share share = {}) noexcept {
            products::template backward_input<T, absorbed>(params, x, dy, dx,
                                                           batch * rows_per_example, share);
        }

        // dW = x^T dy (this share's rows of W) and, in share 0, db = sum_r dy[r],
        // handed to the sink register by register.
        template <class T, class Sink>
        static void backward_params(const T*, T* scratch, const T* x, const T*, const T* dy,
                                    std::size_t batch, Sink& sink, work_share share = {}) noexcept {
            products::backward_params(scratch, x, dy, batch * rows_per_example, sink, share);
        }
    };
};

template <std::size_t Out>
struct linear : affine_layer<Out, true, linear<Out>> {};

template <std::size_t Out>
struct linear_no_bias : affine_layer<Out, false, linear_no_bias<Out>> {};

} // namespace kiln
