#pragma once
// The kernelized multiclass perceptron (SEED.md A, Algorithm 2): w_c is kept as
// sum_i alpha[c][i] phi(x_i) over the examples it has erred on (the support), and
// scores are s_c(x) = sum_i alpha[c][i] k(x_i, x). An error on example i (top class
// t != y_i) does alpha[y_i][i] += 1 and alpha[t][i] -= 1: Algorithm 1's update in
// the span of the examples. Kernel values come from x_i . x and the squared norms,
// the dot product in SIMD; the support's storage is reserved up front, so learning
// allocates nothing. Scores that are not finite (a polynomial kernel of a high
// degree overflows float) stop learning and scoring with a non_finite_error,
// rather than an argmax over NaN that silently scores at chance.
#include "kiln/core/aligned_buffer.hpp"
#include "kiln/core/checked_size.hpp"
#include "kiln/core/tensor.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/train/check_finite.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln {

// k(x, z) = x . z: Algorithm 1 exactly (a test checks the weights agree).
struct linear_kernel {
    static std::string name() { return "linear"; }
    template <class T>
    T operator()(T dot, T, T) const noexcept {
        return dot;
    }
};

// k(x, z) = (x . z + offset)^degree.
struct polynomial_kernel {
    int degree = 2;
    double offset = 1.0;
    std::string name() const { return "polynomial"; }
    template <class T>
    T operator()(T dot, T, T) const noexcept {
        const T base = dot + static_cast<T>(offset);
        T result = 1;
        for (int d = 0; d < degree; ++d)
            result *= base;
        return result;
    }
};

// k(x, z) = exp(-gamma |x - z|^2), with |x - z|^2 = |x|^2 + |z|^2 - 2 x . z.
struct rbf_kernel {
    double gamma = 0.01;
    std::string name() const { return "rbf"; }
    template <class T>
    T operator()(T dot, T x_norm2, T z_norm2) const noexcept {
        const T distance2 = std::max(T{0}, x_norm2 + z_norm2 - T{2} * dot);
        return std::exp(-static_cast<T>(gamma) * distance2);
    }
};

template <class Shape, std::size_t Classes, class Kernel, class T = float>
class kernel_perceptron {
public:
    static constexpr std::size_t dim = Shape::size;

    // example_count: how many training examples there are (ids 0 .. count - 1); the
    // support can hold each once.
    kernel_perceptron(const Kernel& kernel, std::size_t example_count)
        : kernel_(kernel),
          slot_of_(checked_count<std::size_t>(example_count, "kiln::kernel_perceptron"), no_slot),
          vectors_(checked_product(example_count, padded_count(dim), "kiln::kernel_perceptron"),
                   "kiln::kernel_perceptron"),
          norms_(example_count),
          alpha_(checked_product(example_count, Classes, "kiln::kernel_perceptron")) {}

    // s_c(x) for every class c.
    void scores(const T* x, T* out) const noexcept {
        std::fill_n(out, Classes, T{0});
        const T x_norm2 = simd::dot(dim, x, x);
        for (std::size_t s = 0; s < support_; ++s) {
            const T* const z = vectors_.data() + s * padded_count(dim);
            const T k = kernel_(simd::dot(dim, z, x), norms_[s], x_norm2);
            const T* const a = alpha_.data() + s * Classes;
            for (std::size_t c = 0; c < Classes; ++c)
                out[c] += a[c] * k;
        }
    }

    // The first top-scoring class; scores that are not finite throw non_finite_error.
    std::size_t predict(const T* x) const {
        T s[Classes];
        scores(x, s);
        if (!all_finite(std::span<const T>(s, Classes))) [[unlikely]]
            refuse_scores(s, "scoring an example");
        return static_cast<std::size_t>(std::max_element(s, s + Classes) - s);
    }

    // One step of Algorithm 2 on training example `id` (its values x, its label);
    // true when it was a mistake, and so an update.
    bool learn(const T* x, std::size_t id, label_t label) {
        if (id >= slot_of_.size())
            throw std::out_of_range("kernel_perceptron::learn: example id " + std::to_string(id) +
                                    " of " + std::to_string(slot_of_.size()));
        if (!is_class_label<Classes>(label)) // it indexes alpha
            throw label_error("kiln::kernel_perceptron::learn", label, id,
                              class_labels_text(Classes));
        ++steps_;
        T s[Classes];
        scores(x, s);
        if (!all_finite(std::span<const T>(s, Classes))) [[unlikely]]
            refuse_scores(s, "learning example " + std::to_string(id));
        const auto top = static_cast<std::size_t>(std::max_element(s, s + Classes) - s);
        if (top == static_cast<std::size_t>(label)) return false;
        std::size_t& slot = slot_of_[id];
        if (slot == no_slot) {
            slot = support_++;
            std::copy_n(x, dim, vectors_.data() + slot * padded_count(dim));
            norms_[slot] = simd::dot(dim, x, x);
        }
        alpha_[slot * Classes + static_cast<std::size_t>(label)] += T{1};
        alpha_[slot * Classes + top] -= T{1};
        return true;
    }

    // Fraction of a set classified right.
    double accuracy(batch_view<Shape, const T> inputs, label_view<Classes> labels) const {
        std::size_t correct = 0;
        for (std::size_t b = 0; b < inputs.batch(); ++b)
            correct += predict(inputs[b].data()) == static_cast<std::size_t>(labels[b]);
        return inputs.batch() ? static_cast<double>(correct) / static_cast<double>(inputs.batch())
                              : 0.0;
    }

    // Steps of learn() so far.
    std::uint64_t steps() const noexcept { return steps_; }
    // Examples in the support (erred on at least once).
    std::size_t support_size() const noexcept { return support_; }
    // alpha[c] of training example `id` (0 when it is not in the support).
    T alpha(std::size_t id, std::size_t c) const noexcept {
        const std::size_t slot = slot_of_[id];
        return slot == no_slot ? T{0} : alpha_[slot * Classes + c];
    }

    // With the linear kernel, the weights Algorithm 1 keeps: w[i][c] = sum_s
    // alpha[s][c] x_s[i], stored [in][out] as kiln::linear_no_bias stores them.
    std::vector<T> linear_weights() const requires std::is_same_v<Kernel, linear_kernel> {
        std::vector<T> weights(dim * Classes, T{0});
        for (std::size_t s = 0; s < support_; ++s) {
            const T* const z = vectors_.data() + s * padded_count(dim);
            for (std::size_t i = 0; i < dim; ++i)
                for (std::size_t c = 0; c < Classes; ++c)
                    weights[i * Classes + c] += alpha_[s * Classes + c] * z[i];
        }
        return weights;
    }

private:
    [[noreturn, gnu::cold]] void refuse_scores(const T* s, const std::string& doing) const {
        std::size_t c = 0;
        while (c + 1 < Classes && std::isfinite(s[c]))
            ++c;
        throw non_finite_error("training stopped at step " + std::to_string(steps_) + ", " + doing +
                                   ": the output of layer 1 (the " + kernel_.name() +
                                   " kernel's scores, the only layer) is " +
                                   detail::short_number(static_cast<double>(s[c])) + " for class " +
                                   std::to_string(c) +
                                   ": the kernel's values are out of the scalar type's range (for "
                                   "a polynomial kernel, a smaller degree or offset may help)",
                               steps_, 1);
    }

    static constexpr std::size_t no_slot = static_cast<std::size_t>(-1);
    Kernel kernel_;
    std::vector<std::size_t> slot_of_;
    aligned_buffer<T> vectors_; // the support's examples, one padded row each
    std::vector<T> norms_;      // their squared norms
    std::vector<T> alpha_;      // [slot][class]
    std::size_t support_ = 0;
    std::uint64_t steps_ = 0;
};

} // namespace kiln
