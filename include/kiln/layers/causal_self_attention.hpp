#pragma once
// kiln::causal_self_attention<Heads>: multi-head self-attention over a sequence
// of T vectors of width C, as the course's code: per head, q, k, v = x Wq, x Wk,
// x Wv (no bias; head size C / Heads), scores q k^T scaled by C^-0.5 (the course
// scales by n_embd, not by the head size), a causal mask (position i sees
// positions j <= i only), softmax, and the heads' outputs side by side through
// an output projection with bias.
//
// The three input products are one linear_no_bias<3C> (columns q | k | v, head h
// at h * head_size within each) and the projection a linear<C>, so both use the
// register-blocked kernels. Attention itself runs per example and head with
// everything in L1, its five products on the same register tiles.
// Forward keeps q|k|v, the probabilities and the heads' outputs for backward.
#include "kiln/core/always_inline.hpp"
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/names.hpp"
#include "kiln/kernels/gemm.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/layers/linear.hpp"
#include "kiln/optim/gradient_sink.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>

namespace kiln {

namespace error {
template <class Layer, class Heads, class Width>
struct heads_do_not_divide_the_width {
    static void report() {
        static_assert(facts_of_the_error<Layer, Heads, Width>,
                      "kiln: causal_self_attention splits the width among its heads, but 'Heads' "
                      "does not divide 'Width'. Fix: choose a number of heads that divides the "
                      "width (for 64: 1, 2, 4, 8, 16, 32 or 64).");
    }
};
template <class Layer, class Got>
struct attention_needs_a_sequence {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got>,
                      "kiln: causal_self_attention needs a sequence of vectors (positions x "
                      "width), but it gets shape 'Got'. Fix: feed it the output of "
                      "kiln::embedding / kiln::add_position (or a layer after them).");
    }
};
} // namespace error

// Counts in diagnostics.
template <std::size_t Count>
struct heads {};
template <std::size_t Count>
struct width {};

// One head of causal attention over a Length x Width sequence whose rows hold q, k
// and v side by side (q at +0, k at +Width, v at +2 Width), keyed only by the sizes:
// the transformer's four blocks share one copy of it. Each of its products is a
// small matrix product on matmul's register tiles (k or v transposed into a small
// buffer where it is the right operand's columns), and the products over the
// probabilities or their gradient skip the zeros the causal mask leaves; what is
// left per row (softmax, its backward) runs on the row's few registers.
template <std::size_t Length, std::size_t Width, std::size_t HeadSize>
struct attention_head {
    static constexpr std::size_t qkv_stride = 3 * Width;

    // Columns of a transposed [Length][HeadSize] block, padded to whole registers.
    template <class T>
    static constexpr std::size_t
        padded_length = (Length + simd::width<T> - 1) / simd::width<T>* simd::width<T>;

    // into[d][j] = from[j * qkv_stride + d], zero past the sequence.
    template <class T>
    static void transpose_head(const T* from, T* into) noexcept {
        constexpr std::size_t L = padded_length<T>;
        std::fill_n(into, HeadSize * L, T{0});
        for (std::size_t j = 0; j < Length; ++j)
            for (std::size_t d = 0; d < HeadSize; ++d)
                into[d * L + j] = from[j * qkv_stride + d];
    }

    // f(register, first column, lanes) for the registers of a Length-wide row: a loop
    // the compiler unrolls completely (so the row stays in registers) with f once for
    // whole registers and once for a partial last one.
    template <class T, class F>
    [[gnu::always_inline]] static void each_register(F&& f) {
        constexpr std::size_t W = simd::width<T>;
#pragma GCC unroll 16
        for (std::size_t r = 0; r < Length / W; ++r)
            f(r, r * W, std::integral_constant<std::size_t, W>{});
        if constexpr (Length % W != 0)
            f(Length / W, Length / W * W, std::integral_constant<std::size_t, Length % W>{});
    }

    // Row i of the scores, in place: softmax over j <= i, zero after.
    template <class T>
    static void causal_softmax(T* scores, std::size_t i) noexcept {
        using vec = simd::vec<T>;
        constexpr std::size_t registers = padded_length<T> / simd::width<T>;
        const vec minus_infinity(-std::numeric_limits<T>::infinity()), zero(T{0});
        vec s[registers];
        vec largest = minus_infinity;
        each_register<T>([&](std::size_t r, std::size_t first, auto lanes) KILN_ALWAYS_INLINE {
            s[r] = simd::keep_below(kernels::load_lanes<decltype(lanes)::value>(scores + first),
                                    first, i + 1, minus_infinity);
            largest = simd::max(largest, s[r]);
        });
        const vec shift(simd::reduce_max(largest));
        vec total = zero;
        each_register<T>([&](std::size_t r, std::size_t first, auto) KILN_ALWAYS_INLINE {
            // A register wholly past i needs no exponentials. The masked lanes go in as
            // 0, not -inf: xsimd's exp converts its argument to an integer, and -inf
            // has none (UBSan).
            s[r] = first > i ? zero
                             : simd::keep_below(
                                   simd::exp(simd::keep_below(s[r] - shift, first, i + 1, zero)),
                                   first, i + 1, zero);
            total += s[r];
        });
        const vec inverse(T{1} / simd::reduce_add(total));
        each_register<T>([&](std::size_t r, std::size_t first, auto lanes) KILN_ALWAYS_INLINE {
            kernels::store_lanes<decltype(lanes)::value>(scores + first, s[r] * inverse);
        });
    }

    // Row i of dP, in place, becomes dS = P * (dP - rowsum(P * dP)) * scale. P is
    // zero after i, and so is dS.
    template <class T>
    static void softmax_backward(const T* p, T* gradient, T scale) noexcept {
        using vec = simd::vec<T>;
        constexpr std::size_t registers = padded_length<T> / simd::width<T>;
        vec probability[registers], product[registers];
        vec weighted(T{0});
        each_register<T>([&](std::size_t r, std::size_t first, auto lanes) KILN_ALWAYS_INLINE {
            probability[r] = kernels::load_lanes<decltype(lanes)::value>(p + first);
            product[r] = kernels::load_lanes<decltype(lanes)::value>(gradient + first);
            weighted = simd::fma(probability[r], product[r], weighted);
        });
        const vec shift(simd::reduce_add(weighted)), factor(scale);
        each_register<T>([&](std::size_t r, std::size_t first, auto lanes) KILN_ALWAYS_INLINE {
            kernels::store_lanes<decltype(lanes)::value>(
                gradient + first, probability[r] * (product[r] - shift) * factor);
        });
    }

    // One head of one example: q, k, v at qkv (+0, +C, +2C along each row).
    template <class T>
    static void attend(const T* qkv, T* probabilities, T* out) noexcept {
        using kernels::zeros;
        const T scale = T{1} / std::sqrt(static_cast<T>(Width));
        alignas(64) T keys[HeadSize * padded_length<T>];
        transpose_head(qkv + Width, keys);
        // scores = q k^T scale, straight into the probabilities' rows
        kernels::small_matmul<T, Length, Length, qkv_stride, 1, padded_length<T>>(
            qkv, keys, HeadSize, kernels::store_scaled(probabilities, Length, scale));
        for (std::size_t i = 0; i < Length; ++i)
            causal_softmax(probabilities + i * Length, i);
        // out = P v
        kernels::small_matmul<T, Length, HeadSize, Length, 1, qkv_stride, zeros::above_diagonal>(
            probabilities, qkv + 2 * Width, Length, kernels::store_scaled(out, Width, T{1}));
    }

    // With dO the gradient of this head's output and P its probabilities:
    //   dP = dO v^T, dS = P * (dP - rowsum(P * dP)) * scale,
    //   dq = dS k, dk = dS^T q, dv = P^T dO (dS and P zero above the diagonal).
    template <class T>
    static void attend_backward(const T* qkv, const T* probabilities, const T* out_gradient,
                                T* qkv_gradient) noexcept {
        using kernels::zeros;
        const T scale = T{1} / std::sqrt(static_cast<T>(Width));
        alignas(64) T values[HeadSize * padded_length<T>];
        alignas(64) T score_gradient[Length * Length];
        transpose_head(qkv + 2 * Width, values);
        kernels::small_matmul<T, Length, Length, Width, 1, padded_length<T>>(
            out_gradient, values, HeadSize, kernels::store_scaled(score_gradient, Length, T{1}));
        for (std::size_t i = 0; i < Length; ++i)
            softmax_backward(probabilities + i * Length, score_gradient + i * Length, scale);
        kernels::small_matmul<T, Length, HeadSize, Length, 1, qkv_stride, zeros::above_diagonal>(
            score_gradient, qkv + Width, Length,
            kernels::store_scaled(qkv_gradient, qkv_stride, T{1}));
        kernels::small_matmul<T, Length, HeadSize, 1, Length, qkv_stride, zeros::below_diagonal>(
            score_gradient, qkv, Length,
            kernels::store_scaled(qkv_gradient + Width, qkv_stride, T{1}));
        kernels::small_matmul<T, Length, HeadSize, 1, Length, Width, zeros::below_diagonal>(
            probabilities, out_gradient, Length,
            kernels::store_scaled(qkv_gradient + 2 * Width, qkv_stride, T{1}));
    }
};

template <std::size_t Heads>
struct causal_self_attention {
    static std::string name() { return bracketed("causal_self_attention<", {Heads}, ">"); }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : layer_base<causal_self_attention, In, In, Position> {
        static constexpr bool is_sequence = In::rank == 2;
        static constexpr std::size_t width_ = last_dim<In>;
        using here = layer<Position, causal_self_attention>;
        using broken_rule = first_broken<
            rule<is_sequence, error::attention_needs_a_sequence<here, In>>,
            rule<Heads != 0 && width_ % (Heads == 0 ? 1 : Heads) == 0,
                 error::heads_do_not_divide_the_width<here, heads<Heads>, width<width_>>>>;
        static constexpr bool valid = broken_rule::holds;

        static constexpr std::size_t length = In::size / width_; // T
        static constexpr std::size_t head_size = valid ? width_ / Heads : 1;
        using sequence = shape<length, width_>;
        using qkv_layer = typename linear_no_bias<3 * width_>::template bind<sequence, Position>;
        using projection = typename linear<width_>::template bind<sequence, Position>;

        static constexpr std::size_t param_count = qkv_layer::param_count + projection::param_count;
        static constexpr std::size_t projection_offset = qkv_layer::storage_size;
        static constexpr std::size_t storage_size = projection_offset + projection::storage_size;
        // nn.MultiheadAttention's names and layout: q|k|v rows of in_proj_weight,
        // head h at rows h * head_size of each (kiln stores its transpose).
        static constexpr std::array parameter_parts{
            parameter_part{"in_proj_weight", 0, {3 * width_, width_}, {1, 0}},
            parameter_part{"out_proj.weight", projection_offset, {width_, width_}, {1, 0}},
            parameter_part{"out_proj.bias", projection_offset + projection::bias_offset, {width_}}};

        // Per example: q|k|v, the probabilities of every head, the heads' outputs,
        // and backward's gradients of the latter two products.
        static constexpr std::size_t qkv_size = padded_count(length * 3 * width_);
        static constexpr std::size_t probability_size = padded_count(Heads * length * length);
        static constexpr std::size_t heads_size = padded_count(length * width_);
        using head = attention_head<length, width_, head_size>;
        static constexpr std::size_t saved_per_example =
            2 * qkv_size + probability_size + 2 * heads_size;

        template <class T, class Scheme>
        static void initialize(T* params, rng& random, const Scheme& scheme) {
            qkv_layer::initialize(params, random, scheme);
            projection::initialize(params + projection_offset, random, scheme);
        }

        template <class T>
        struct slots {
            T* qkv;
            T* probabilities;
            T* heads_out;
            T* heads_gradient;
            T* qkv_gradient;
            slots(T* saved, std::size_t batch)
                : qkv(saved), probabilities(qkv + batch * qkv_size),
                  heads_out(probabilities + batch * probability_size),
                  heads_gradient(heads_out + batch * heads_size),
                  qkv_gradient(heads_gradient + batch * heads_size) {}
        };

        template <class T>
        static void forward(const T* params, const T* x, T* y, T* saved,
                            std::size_t batch) noexcept {
            if constexpr (valid) {
                const slots<T> s(saved, batch);
                qkv_layer::forward(params, x, s.qkv, batch);
                for (std::size_t b = 0; b < batch; ++b)
                    for (std::size_t h = 0; h < Heads; ++h)
                        head::attend(s.qkv + b * length * 3 * width_ + h * head_size,
                                     s.probabilities + (b * Heads + h) * length * length,
                                     s.heads_out + b * length * width_ + h * head_size);
                projection::forward(params + projection_offset, s.heads_out, y, batch);
            }
        }

        template <class T, class Sink>
        static void backward(const T* params, T* scratch, const T* x, const T* y, T* saved,
                             const T* dy, T* dx, std::size_t batch, Sink& sink) noexcept {
            if constexpr (valid) {
                const slots<T> s(saved, batch);
                auto projection_sink = sink.shifted(projection_offset);
                projection::backward_input(params + projection_offset, s.heads_out, y, dy,
                                           s.heads_gradient, batch);
                projection::backward_params(params + projection_offset, scratch + projection_offset,
                                            s.heads_out, y, dy, batch, projection_sink);
                for (std::size_t b = 0; b < batch; ++b)
                    for (std::size_t h = 0; h < Heads; ++h)
                        head::attend_backward(
                            s.qkv + b * length * 3 * width_ + h * head_size,
                            s.probabilities + (b * Heads + h) * length * length,
                            s.heads_gradient + b * length * width_ + h * head_size,
                            s.qkv_gradient + b * length * 3 * width_ + h * head_size);
                if (dx != nullptr)
                    qkv_layer::backward_input(params, x, s.qkv, s.qkv_gradient, dx, batch);
                qkv_layer::backward_params(params, scratch, x, s.qkv, s.qkv_gradient, batch, sink);
            }
        }
    };
};

} // namespace kiln
