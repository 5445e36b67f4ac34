#pragma once
// kiln::linear<Out>: y = x W + b on the last axis of each example, like
// PyTorch's nn.Linear (a rank-2 example is a sequence of vectors, each mapped).
// W is stored [in][out], row-major: the course's numpy layout, and the one in
// which all three products read contiguous rows. kiln::linear_no_bias<Out> drops b.
#include "kiln/core/aligned_buffer.hpp"
#include "kiln/core/diagnostics.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/layer.hpp"

#include <cmath>
#include <string>

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

// The layer behind linear and linear_no_bias. Spec is the type the user wrote, so
// that diagnostics and summaries name it as written.
template <std::size_t Out, bool HasBias, class Spec>
struct affine_layer {
    static constexpr std::size_t out_features = Out;
    static constexpr bool has_bias = HasBias;
    static std::string name() {
        return (has_bias ? "linear<" : "linear_no_bias<") + std::to_string(Out) + ">";
    }

    template <class In, std::size_t Position>
    struct bind {
        static constexpr bool valid =
            require<Out != 0, error::layer_size_is_zero<layer<Position, Spec>>>;

        using spec = Spec;
        using in_shape = In;
        using out_shape = replace_last_t<In, Out>;
        static constexpr std::size_t position = Position;
        static constexpr std::size_t in_features = last_dim<In>;
        // Vectors mapped per example: 1 for a vector, the sequence length for a sequence.
        static constexpr std::size_t rows_per_example = In::size / in_features;
        static constexpr std::size_t weight_count = in_features * Out;
        static constexpr std::size_t bias_count = has_bias ? Out : 0;
        static constexpr std::size_t param_count = weight_count + bias_count;
        static constexpr bool is_view = false;

        // Within the layer's slice: W[i][o] at weight_at(i, o); the bias starts on
        // its own cache line.
        static constexpr std::size_t bias_offset = padded_count(weight_count);
        static constexpr std::size_t storage_size = bias_offset + padded_count(bias_count);
        static constexpr std::size_t weight_at(std::size_t i, std::size_t o) { return i * Out + o; }
        static constexpr std::size_t bias_at(std::size_t o) { return bias_offset + o; }

        template <class T, class Scheme>
        static void initialize(T* params, rng& random, const Scheme& scheme) {
            T* const bias_values = params + bias_offset;
            if constexpr (std::is_same_v<Scheme, init::normal>) {
                for (std::size_t i = 0; i < weight_count; ++i)
                    params[i] = static_cast<T>(random.normal(scheme.mean, scheme.stddev));
                for (std::size_t o = 0; o < bias_count; ++o)
                    bias_values[o] = static_cast<T>(random.normal(scheme.mean, scheme.stddev));
            } else {
                static_assert(std::is_same_v<Scheme, init::pytorch_default>);
                const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
                for (std::size_t i = 0; i < weight_count; ++i)
                    params[i] = static_cast<T>(random.uniform(-bound, bound));
                for (std::size_t o = 0; o < bias_count; ++o)
                    bias_values[o] = static_cast<T>(random.uniform(-bound, bound));
            }
        }

        // y[r] = b + sum_i x[r][i] W[i]
        template <class T>
        static void forward(const T* params, const T* x, T* y, std::size_t batch) noexcept {
            const T* const weight = params;
            const T* const bias_values = params + bias_offset;
            for (std::size_t r = 0; r < batch * rows_per_example; ++r) {
                const T* const x_row = x + r * in_features;
                T* const y_row = y + r * Out;
                for (std::size_t o = 0; o < Out; ++o)
                    y_row[o] = has_bias ? bias_values[o] : T{0};
                for (std::size_t i = 0; i < in_features; ++i)
                    simd::axpy(Out, x_row[i], weight + i * Out, y_row);
            }
        }

        // dW[i] = sum_r x[r][i] dy[r];  db = sum_r dy[r];  dx[r][i] = W[i] . dy[r]
        template <class T>
        static void backward(const T* params, T* grads, const T* x, const T*, const T* dy, T* dx,
                             std::size_t batch) noexcept {
            const std::size_t rows = batch * rows_per_example;
            for (std::size_t i = 0; i < in_features; ++i) {
                T* const grad_row = grads + i * Out;
                simd::scale_into(Out, x[i], dy, grad_row);
                for (std::size_t r = 1; r < rows; ++r)
                    simd::axpy(Out, x[r * in_features + i], dy + r * Out, grad_row);
            }
            if constexpr (has_bias) {
                T* const grad_bias = grads + bias_offset;
                std::copy_n(dy, Out, grad_bias);
                for (std::size_t r = 1; r < rows; ++r)
                    simd::axpy(Out, T{1}, dy + r * Out, grad_bias);
            }
            if (dx == nullptr) return;
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t i = 0; i < in_features; ++i)
                    dx[r * in_features + i] = simd::dot(Out, params + i * Out, dy + r * Out);
        }
    };
};

template <std::size_t Out>
struct linear : affine_layer<Out, true, linear<Out>> {};

template <std::size_t Out>
struct linear_no_bias : affine_layer<Out, false, linear_no_bias<Out>> {};

} // namespace kiln
