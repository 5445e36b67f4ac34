#pragma once
// kiln::sgd: stochastic gradient descent, optionally with momentum as the course
// defines it (v <- momentum v + g; w <- w - rate v). The rule is written once, on
// a register; it runs either inside the weight-gradient pass (fused, the
// gradient is never stored) or as one flat loop over stored gradients. The rate
// may change between steps (set_learning_rate: a schedule, train/trainer.hpp).
#include "kiln/core/aligned_buffer.hpp"
#include "kiln/kernels/gemm.hpp"
#include "kiln/optim/gradient_sink.hpp"
#include "kiln/optim/learning_rate.hpp"

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>

namespace kiln {

struct sgd {
    double learning_rate = 0.01;
    double momentum = 0.0;

    static std::string name() { return "sgd"; }

    template <class T>
    class state {
    public:
        state(const sgd& settings, std::size_t parameter_count)
            : base_rate_(settings.learning_rate), base_momentum_(settings.momentum),
              rate_(static_cast<T>(settings.learning_rate)),
              momentum_(static_cast<T>(settings.momentum)),
              velocity_(settings.momentum != 0.0 ? parameter_count : 0) {
            require_learning_rate(settings.learning_rate, "sgd");
            if (!(settings.momentum >= 0.0 && settings.momentum < 1.0))
                throw std::invalid_argument("kiln::sgd: momentum must be in [0, 1)");
        }

        // The update of Lanes parameters at w (and their velocity at v) by gradient g.
        template <std::size_t Lanes>
        [[gnu::always_inline]] void apply(T* w, T* v, simd::vec<T> g) const noexcept {
            if (v != nullptr) {
                g = xsimd::fma(simd::vec<T>(momentum_), kernels::load_lanes<Lanes>(v), g);
                kernels::store_lanes<Lanes>(v, g);
            }
            const auto updated = xsimd::fnma(simd::vec<T>(rate_), g, kernels::load_lanes<Lanes>(w));
            kernels::store_lanes<Lanes>(w, updated);
        }

        // One flat loop over stored gradients.
        void update(std::span<T> parameters, std::span<const T> gradients) noexcept {
            const auto step = fused(parameters.data()); // its slices point into it
            auto sink = step.slice(0);
            hand_over(sink, 0, gradients.data(), parameters.size());
        }

        // A sink factory that updates the parameters as backward hands over gradients.
        struct fused_sink {
            const state* self;
            T* parameters;
            T* velocity;

            struct slice_sink {
                const state* self;
                T* parameters;
                T* velocity;
                template <std::size_t Lanes>
                [[gnu::always_inline]] void gradient(std::size_t index,
                                                     const simd::vec<T>& g) const noexcept {
                    self->template apply<Lanes>(parameters + index,
                                                velocity ? velocity + index : nullptr, g);
                }
                slice_sink shifted(std::size_t offset) const noexcept {
                    return {self, parameters + offset, velocity ? velocity + offset : nullptr};
                }
            };
            slice_sink slice(std::size_t offset) const noexcept {
                return {self, parameters + offset, velocity ? velocity + offset : nullptr};
            }
        };
        fused_sink fused(T* parameters) noexcept {
            return {this, parameters, velocity_.size() ? velocity_.data() : nullptr};
        }

        // The rate of the next step, in T; changing it allocates nothing and keeps
        // the velocity.
        double learning_rate() const noexcept { return static_cast<double>(rate_); }
        void set_learning_rate(double rate) {
            require_learning_rate(rate, "sgd");
            rate_ = static_cast<T>(rate);
        }

        std::span<const T> velocity() const noexcept { return velocity_.span(); }
        // For checkpoints: the velocity (empty without momentum), the momentum in T
        // and the settings the state was made with (its learning rate is the base
        // a schedule scales).
        std::span<T> velocity() noexcept { return velocity_.span(); }
        T momentum() const noexcept { return momentum_; }
        sgd settings() const noexcept { return {base_rate_, base_momentum_}; }

    private:
        double base_rate_, base_momentum_;
        T rate_;
        T momentum_;
        aligned_buffer<T> velocity_;
    };
};

} // namespace kiln
