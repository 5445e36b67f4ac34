#pragma once
// kiln::adamw: Adam with decoupled weight decay, as torch.optim.AdamW computes it
// (defaults betas 0.9 / 0.999, eps 1e-8, weight decay 0.01):
//   w <- w (1 - rate decay);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
//   w <- w - rate / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// The rule is written once, on a register. It runs as one flat SIMD loop over
// the flat buffers (update), or inside the weight-gradient pass (fused), where
// each gradient register is used as backward hands it over and never stored.
// Padding stays zero: its gradient, m and v are zero, so its update is zero.
// The rate may change between steps (set_learning_rate: a schedule,
// train/trainer.hpp); like PyTorch's, it scales the weight decay too.
#include "kiln/core/aligned_buffer.hpp"
#include "kiln/kernels/gemm.hpp"
#include "kiln/optim/gradient_sink.hpp"
#include "kiln/optim/learning_rate.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

namespace kiln {

struct adamw {
    double learning_rate = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.01;

    static std::string name() { return "adamw"; }

    template <class T>
    class state {
    public:
        state(const adamw& settings, std::size_t parameter_count)
            : rate_(settings.learning_rate), beta1_(settings.beta1), beta2_(settings.beta2),
              eps_(settings.eps), decay_(settings.weight_decay), first_(parameter_count),
              second_(parameter_count), base_rate_(settings.learning_rate) {
            require_learning_rate(settings.learning_rate, "adamw");
            if (!(settings.beta1 >= 0.0 && settings.beta1 < 1.0 && settings.beta2 >= 0.0 &&
                  settings.beta2 < 1.0))
                throw std::invalid_argument("kiln::adamw: betas must be in [0, 1)");
            if (!(settings.eps > 0.0) || !(settings.weight_decay >= 0.0))
                throw std::invalid_argument("kiln::adamw: eps must be > 0, weight decay >= 0");
        }

        // The update of Lanes parameters at `at` by gradient g (step constants in `c`).
        struct constants {
            simd::vec<T> decay, beta1, one_minus_beta1, beta2, one_minus_beta2, step_size,
                inverse_root_correction, eps;
        };
        template <std::size_t Lanes>
        [[gnu::always_inline]] static void apply(const constants& c, T* w, T* m, T* v,
                                                 simd::vec<T> g) noexcept {
            const auto first =
                simd::fma(c.beta1, kernels::load_lanes<Lanes>(m), c.one_minus_beta1 * g);
            const auto second =
                simd::fma(c.beta2, kernels::load_lanes<Lanes>(v), c.one_minus_beta2 * g * g);
            kernels::store_lanes<Lanes>(m, first);
            kernels::store_lanes<Lanes>(v, second);
            const auto denominator = simd::sqrt(second) * c.inverse_root_correction + c.eps;
            const auto decayed = kernels::load_lanes<Lanes>(w) * c.decay;
            kernels::store_lanes<Lanes>(w, decayed - c.step_size * first / denominator);
        }

        // A sink factory for one step: counts the step and updates the parameters as
        // backward hands over gradients.
        struct fused_sink {
            constants c;
            T* parameters;
            T* first;
            T* second;
            struct slice_sink {
                const constants* c;
                T* parameters;
                T* first;
                T* second;
                template <std::size_t Lanes>
                [[gnu::always_inline]] void gradient(std::size_t index,
                                                     const simd::vec<T>& g) const noexcept {
                    apply<Lanes>(*c, parameters + index, first + index, second + index, g);
                }
                slice_sink shifted(std::size_t offset) const noexcept {
                    return {c, parameters + offset, first + offset, second + offset};
                }
            };
            slice_sink slice(std::size_t offset) const noexcept {
                return {&c, parameters + offset, first + offset, second + offset};
            }
        };
        fused_sink fused(T* parameters) noexcept {
            return {begin_step(), parameters, first_.data(), second_.data()};
        }

        // One step as one flat loop over stored gradients.
        void update(std::span<T> parameters, std::span<const T> gradients) noexcept {
            const auto step = fused(parameters.data()); // its slices point into it
            auto sink = step.slice(0);
            hand_over(sink, 0, gradients.data(), parameters.size());
        }

        // The rate of the next step; changing it allocates nothing and keeps the moments.
        double learning_rate() const noexcept { return rate_; }
        void set_learning_rate(double rate) {
            require_learning_rate(rate, "adamw");
            rate_ = rate;
        }

        // For checkpoints: the moments, the step count and the settings the state was
        // made with (its learning rate is the base a schedule scales).
        std::span<T> first_moment() noexcept { return first_.span(); }
        std::span<T> second_moment() noexcept { return second_.span(); }
        std::uint64_t steps() const noexcept { return steps_; }
        void set_steps(std::uint64_t steps) noexcept { steps_ = steps; }
        adamw settings() const noexcept { return {base_rate_, beta1_, beta2_, eps_, decay_}; }

    private:
        // Counts the step; its bias corrections as PyTorch computes them.
        constants begin_step() noexcept {
            ++steps_;
            const double t = static_cast<double>(steps_);
            const double correction1 = 1.0 - std::pow(beta1_, t);
            const double correction2 = 1.0 - std::pow(beta2_, t);
            const auto v = [](double x) { return simd::vec<T>(static_cast<T>(x)); };
            return {v(1.0 - rate_ * decay_),
                    v(beta1_),
                    v(1.0 - beta1_),
                    v(beta2_),
                    v(1.0 - beta2_),
                    v(rate_ / correction1),
                    v(1.0 / std::sqrt(correction2)),
                    v(eps_)};
        }

        double rate_, beta1_, beta2_, eps_, decay_;
        aligned_buffer<T> first_;
        aligned_buffer<T> second_;
        double base_rate_;
        std::uint64_t steps_ = 0;
    };
};

} // namespace kiln
