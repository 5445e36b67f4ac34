#pragma once
// kiln::layer_norm: each vector of the last axis is normalized to mean 0 and
// variance 1 (biased variance, eps 1e-5, as PyTorch's nn.LayerNorm), then scaled
// by gamma and shifted by beta. Forward keeps each vector's mean and reciprocal
// standard deviation, so backward recomputes x-hat without a second reduction.
#include "kiln/core/init.hpp"
#include "kiln/graph/layer_view.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/kernels/gemm.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/optim/gradient_sink.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>

namespace kiln {

// Layer norm over rows of Width values, keyed only by the width: the transformer's
// nine layer norms (and every sweep configuration's) share one copy.
inline constexpr double layer_norm_epsilon = 1e-5;

template <std::size_t Width>
struct layer_norm_rows {
    // gamma at 0, beta on its own cache line.
    static constexpr std::size_t beta_offset = padded_count(Width);

    // Registers cover the first full_width<T> values of a row; the rest (when
    // Width is no multiple of the register) go one by one.
    template <class T>
    static constexpr std::size_t full_width = Width - Width % simd::width<T>;

    template <class T>
    static void forward(const T* params, const T* x, T* y, T* saved, std::size_t rows) noexcept {
        using vec = simd::vec<T>;
        constexpr std::size_t W = simd::width<T>, full = full_width<T>;
        const T* const gamma = params;
        const T* const beta = params + beta_offset;
        T* const means = saved;
        T* const inverse_stds = saved + rows;
        for (std::size_t r = 0; r < rows; ++r) {
            const T* const v = x + r * Width;
            vec sum_lanes(T{0});
            for (std::size_t c = 0; c < full; c += W)
                sum_lanes += simd::load(v + c);
            T sum = simd::reduce_add(sum_lanes);
            for (std::size_t c = full; c < Width; ++c)
                sum += v[c];
            const T mean = sum / T(Width);
            const vec mean_lanes(mean);
            vec square_lanes(T{0});
            for (std::size_t c = 0; c < full; c += W) {
                const vec deviation = simd::load(v + c) - mean_lanes;
                square_lanes = simd::fma(deviation, deviation, square_lanes);
            }
            T squares = simd::reduce_add(square_lanes);
            for (std::size_t c = full; c < Width; ++c)
                squares += (v[c] - mean) * (v[c] - mean);
            const T inverse_std = T{1} / std::sqrt(squares / T(Width) + T(layer_norm_epsilon));
            means[r] = mean;
            inverse_stds[r] = inverse_std;
            T* const out = y + r * Width;
            const vec inverse_std_lanes(inverse_std);
            for (std::size_t c = 0; c < full; c += W)
                simd::store(out + c, simd::fma((simd::load(v + c) - mean_lanes) * inverse_std_lanes,
                                               simd::load(gamma + c), simd::load(beta + c)));
            for (std::size_t c = full; c < Width; ++c)
                out[c] = (v[c] - mean) * inverse_std * gamma[c] + beta[c];
        }
    }

    // With g = dy * gamma and x-hat the normalized input:
    //   dx = inverse_std * (g - mean(g) - x-hat * mean(g * x-hat))
    //   dgamma = sum over vectors of dy * x-hat,  dbeta = sum of dy.
    template <class T, class Sink>
    static void backward(const T* params, T* scratch, const T* x, const T*, T* saved, const T* dy,
                         T* dx, std::size_t rows, Sink& sink) noexcept {
        using vec = simd::vec<T>;
        constexpr std::size_t W = simd::width<T>, full = full_width<T>;
        const T* const gamma = params;
        const T* const means = saved;
        const T* const inverse_stds = saved + rows;
        T* const dgamma = scratch;
        T* const dbeta = scratch + beta_offset;
        std::fill_n(dgamma, Width, T{0});
        std::fill_n(dbeta, Width, T{0});
        for (std::size_t r = 0; r < rows; ++r) {
            const T* const v = x + r * Width;
            const T* const d = dy + r * Width;
            const T mean = means[r], inverse_std = inverse_stds[r];
            const vec mean_lanes(mean), inverse_std_lanes(inverse_std);
            alignas(64) T normalized[Width];
            vec g_sum_lanes(T{0}), g_dot_lanes(T{0});
            for (std::size_t c = 0; c < full; c += W) {
                const vec x_hat = (simd::load(v + c) - mean_lanes) * inverse_std_lanes;
                const vec d_c = simd::load(d + c);
                const vec g = d_c * simd::load(gamma + c);
                simd::store(normalized + c, x_hat);
                g_sum_lanes += g;
                g_dot_lanes = simd::fma(g, x_hat, g_dot_lanes);
                simd::store(dgamma + c, simd::fma(d_c, x_hat, simd::load(dgamma + c)));
                simd::store(dbeta + c, simd::load(dbeta + c) + d_c);
            }
            T g_sum = simd::reduce_add(g_sum_lanes), g_dot = simd::reduce_add(g_dot_lanes);
            for (std::size_t c = full; c < Width; ++c) {
                normalized[c] = (v[c] - mean) * inverse_std;
                const T g = d[c] * gamma[c];
                g_sum += g;
                g_dot += g * normalized[c];
                dgamma[c] += d[c] * normalized[c];
                dbeta[c] += d[c];
            }
            if (dx == nullptr) continue;
            const T g_mean = g_sum / T(Width), g_dot_mean = g_dot / T(Width);
            const vec g_mean_lanes(g_mean), g_dot_mean_lanes(g_dot_mean);
            T* const out = dx + r * Width;
            for (std::size_t c = 0; c < full; c += W)
                simd::store(out + c, inverse_std_lanes *
                                         (simd::load(d + c) * simd::load(gamma + c) - g_mean_lanes -
                                          simd::load(normalized + c) * g_dot_mean_lanes));
            for (std::size_t c = full; c < Width; ++c)
                out[c] = inverse_std * (d[c] * gamma[c] - g_mean - normalized[c] * g_dot_mean);
        }
        hand_over(sink, 0, dgamma, Width);
        hand_over(sink, beta_offset, dbeta, Width);
    }
};

struct layer_norm {
    static std::string name() { return "layer_norm"; }
    static constexpr double epsilon = layer_norm_epsilon;

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : layer_base<layer_norm, In, In, Position> {
        static constexpr std::size_t width = last_dim<In>;
        static constexpr std::size_t rows_per_example = In::size / width;
        static constexpr std::size_t param_count = 2 * width;
        using rows_kernel = layer_norm_rows<width>;
        static constexpr std::size_t beta_offset = rows_kernel::beta_offset;
        static constexpr std::size_t storage_size = 2 * beta_offset;
        static constexpr std::array parameter_parts{parameter_part{"weight", 0, {width}},
                                                    parameter_part{"bias", beta_offset, {width}}};
        // Per vector: its mean, then (after all the means) its reciprocal std.
        static constexpr std::size_t saved_per_example = padded_count(2 * rows_per_example);

        // PyTorch's and Keras's gamma = 1, beta = 0; init::normal perturbs both (gradient checks
        // need a gamma that is not all ones).
        template <class T, class Scheme>
        static void initialize(T* params, rng& random, const Scheme& scheme) {
            for (std::size_t c = 0; c < width; ++c) {
                params[c] = T{1};
                params[beta_offset + c] = T{0};
            }
            if constexpr (std::is_same_v<Scheme, init::normal>)
                for (std::size_t c = 0; c < width; ++c) {
                    params[c] += static_cast<T>(random.normal(scheme.mean, scheme.stddev));
                    params[beta_offset + c] =
                        static_cast<T>(random.normal(scheme.mean, scheme.stddev));
                }
        }

        template <class T>
        static void forward(const T* params, const T* x, T* y, T* saved,
                            std::size_t batch) noexcept {
            rows_kernel::forward(params, x, y, saved, batch * rows_per_example);
        }

        template <class T, class Sink>
        static void backward(const T* params, T* scratch, const T* x, const T* y, T* saved,
                             const T* dy, T* dx, std::size_t batch, Sink& sink) noexcept {
            rows_kernel::backward(params, scratch, x, y, saved, dy, dx, batch * rows_per_example,
                                  sink);
        }
    };
};

} // namespace kiln
