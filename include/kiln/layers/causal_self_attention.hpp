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
// everything in L1: k (forward) or v (backward) transposed to a small buffer so
// that each row of scores is a few registers built by broadcast FMAs.
// Forward keeps q|k|v, the probabilities and the heads' outputs for backward.
#include "kiln/core/diagnostics.hpp"
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
// the transformer's four blocks share one copy of it.
template <std::size_t Length, std::size_t Width, std::size_t HeadSize>
struct attention_head {
    static constexpr std::size_t qkv_stride = 3 * Width;

    // A row of `Count` values as registers: full ones, then a partial one.
    template <class T, std::size_t Count>
    struct row {
        static constexpr std::size_t W = simd::width<T>;
        static constexpr std::size_t registers = (Count + W - 1) / W;
        simd::vec<T> r[registers];

        template <class F>
        [[gnu::always_inline]] static void each(F&& f) {
            [&]<std::size_t... R>(std::index_sequence<R...>) {
                (f(std::integral_constant<std::size_t, R>{}, std::integral_constant < std::size_t,
                   (R + 1) * W <= Count ? W : Count - R * W > {}),
                 ...);
            }
            (std::make_index_sequence<registers>{});
        }
        void zero() noexcept {
            for (auto& v : r)
                v = simd::vec<T>(T{0});
        }
        void load(const T* p) noexcept {
            each([&](auto i, auto lanes) {
                r[i] = kernels::load_lanes<decltype(lanes)::value>(p + i * W);
            });
        }
        void store(T* p) const noexcept {
            each([&](auto i, auto lanes) {
                kernels::store_lanes<decltype(lanes)::value>(p + i * W, r[i]);
            });
        }
        // this += other
        void add(const row& other) noexcept {
            for (std::size_t i = 0; i < registers; ++i)
                r[i] += other.r[i];
        }
        // this += a * v
        void add_scaled(T a, const T* v) noexcept {
            const simd::vec<T> scale(a);
            each([&](auto i, auto lanes) {
                r[i] =
                    simd::fma(scale, kernels::load_lanes<decltype(lanes)::value>(v + i * W), r[i]);
            });
        }
    };

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

    // The first (i + 1) / W rounded up registers of sum_d a[d] * columns[d][:], in
    // two sums (even and odd d) so that the chain of dependent FMAs is half as long.
    template <class T>
    static void products_with(const T* a, const T* columns, std::size_t registers,
                              simd::vec<T>* out) noexcept {
        constexpr std::size_t W = simd::width<T>, L = padded_length<T>;
        simd::vec<T> odd[L / W];
        for (std::size_t r = 0; r < registers; ++r)
            out[r] = odd[r] = simd::vec<T>(T{0});
        std::size_t d = 0;
        for (; d + 1 < HeadSize; d += 2) {
            const simd::vec<T> even_value(a[d]), odd_value(a[d + 1]);
            for (std::size_t r = 0; r < registers; ++r) {
                out[r] = simd::fma(even_value, simd::load(columns + d * L + r * W), out[r]);
                odd[r] = simd::fma(odd_value, simd::load(columns + (d + 1) * L + r * W), odd[r]);
            }
        }
        if constexpr (HeadSize % 2 != 0)
            for (std::size_t r = 0; r < registers; ++r)
                out[r] = simd::fma(simd::vec<T>(a[d]), simd::load(columns + d * L + r * W), out[r]);
        for (std::size_t r = 0; r < registers; ++r)
            out[r] += odd[r];
    }

    // sum over j < count of weights[j] times the head's row j of `rows` (rows
    // qkv_stride apart), in two sums (even and odd j) to halve the FMA chain.
    template <class T>
    static row<T, HeadSize> weighted_rows(const T* weights, const T* rows,
                                          std::size_t count) noexcept {
        row<T, HeadSize> even, odd;
        even.zero();
        odd.zero();
        std::size_t j = 0;
        for (; j + 1 < count; j += 2) {
            even.add_scaled(weights[j], rows + j * qkv_stride);
            odd.add_scaled(weights[j + 1], rows + (j + 1) * qkv_stride);
        }
        if (j < count) even.add_scaled(weights[j], rows + j * qkv_stride);
        even.add(odd);
        return even;
    }

    // One head of one example: q, k, v at qkv (+0, +C, +2C along each row).
    template <class T>
    static void attend(const T* qkv, T* probabilities, T* out) noexcept {
        constexpr std::size_t W = simd::width<T>, L = padded_length<T>;
        const T scale = T{1} / std::sqrt(static_cast<T>(Width));
        alignas(64) T keys[HeadSize * L];
        alignas(64) T scores[L];
        transpose_head(qkv + Width, keys);
        for (std::size_t i = 0; i < Length; ++i) {
            const std::size_t registers = i / W + 1;
            simd::vec<T> s[L / W];
            products_with(qkv + i * qkv_stride, keys, registers, s);
            for (std::size_t r = 0; r < registers; ++r)
                simd::store(scores + r * W, s[r] * simd::vec<T>(scale));
            const T largest = *std::max_element(scores, scores + i + 1);
            for (std::size_t r = 0; r < registers; ++r)
                simd::store(scores + r * W,
                            simd::exp(simd::load(scores + r * W) - simd::vec<T>(largest)));
            std::fill(scores + i + 1, scores + L, T{0});
            T total = 0;
            for (std::size_t r = 0; r < registers; ++r)
                total += simd::reduce_add(simd::load(scores + r * W));
            const T inverse_total = T{1} / total;
            T* const p = probabilities + i * Length;
            for (std::size_t j = 0; j <= i; ++j)
                p[j] = scores[j] * inverse_total;
            std::fill(p + i + 1, p + Length, T{0});
            weighted_rows(p, qkv + 2 * Width, i + 1).store(out + i * Width);
        }
    }

    // With dO the gradient of this head's output and P its probabilities:
    //   dP = dO v^T, dS = P * (dP - rowsum(P * dP)) * scale,
    //   dq = dS k, dk = dS^T q, dv = P^T dO (all over j <= i only).
    template <class T>
    static void attend_backward(const T* qkv, const T* probabilities, const T* out_gradient,
                                T* qkv_gradient) noexcept {
        constexpr std::size_t W = simd::width<T>, L = padded_length<T>;
        const T scale = T{1} / std::sqrt(static_cast<T>(Width));
        alignas(64) T values[HeadSize * L];
        alignas(64) T score_gradient[L];
        alignas(64) T key_gradients[Length * HeadSize];
        alignas(64) T value_gradients[Length * HeadSize];
        std::fill_n(key_gradients, Length * HeadSize, T{0});
        std::fill_n(value_gradients, Length * HeadSize, T{0});
        transpose_head(qkv + 2 * Width, values);
        for (std::size_t i = 0; i < Length; ++i) {
            const std::size_t registers = i / W + 1;
            const T* const p = probabilities + i * Length;
            const T* const d_out = out_gradient + i * Width;
            simd::vec<T> dp[L / W];
            products_with(d_out, values, registers, dp);
            for (std::size_t r = 0; r < registers; ++r)
                simd::store(score_gradient + r * W, dp[r]);
            const T weighted = simd::dot(i + 1, p, score_gradient);
            alignas(64) T ds[L];
            for (std::size_t j = 0; j <= i; ++j)
                ds[j] = p[j] * (score_gradient[j] - weighted) * scale;
            weighted_rows(ds, qkv + Width, i + 1).store(qkv_gradient + i * qkv_stride);
            const T* const q = qkv + i * qkv_stride;
            for (std::size_t j = 0; j <= i; ++j) {
                row<T, HeadSize> dk, dv;
                dk.load(key_gradients + j * HeadSize);
                dk.add_scaled(ds[j], q);
                dk.store(key_gradients + j * HeadSize);
                dv.load(value_gradients + j * HeadSize);
                dv.add_scaled(p[j], d_out);
                dv.store(value_gradients + j * HeadSize);
            }
        }
        for (std::size_t j = 0; j < Length; ++j) {
            std::copy_n(key_gradients + j * HeadSize, HeadSize,
                        qkv_gradient + j * qkv_stride + Width);
            std::copy_n(value_gradients + j * HeadSize, HeadSize,
                        qkv_gradient + j * qkv_stride + 2 * Width);
        }
    }
};

template <std::size_t Heads>
struct causal_self_attention {
    static std::string name() { return "causal_self_attention<" + std::to_string(Heads) + ">"; }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind {
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

        using spec = causal_self_attention;
        using in_shape = In;
        using out_shape = In;
        static constexpr std::size_t position = Position;
        static constexpr std::size_t param_count = qkv_layer::param_count + projection::param_count;
        static constexpr std::size_t projection_offset = qkv_layer::storage_size;
        static constexpr std::size_t storage_size = projection_offset + projection::storage_size;
        static constexpr bool is_view = false;
        static constexpr bool passes_gradient = false;
        static constexpr std::size_t flops_per_example = 0;

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
