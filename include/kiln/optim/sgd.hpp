#pragma once
// kiln::sgd: stochastic gradient descent, optionally with momentum as the course
// defines it (v <- momentum v + g; w <- w - rate v). One flat loop over the
// parameter buffer: no per-layer work.
#include "kiln/core/aligned_buffer.hpp"

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
            : rate_(static_cast<T>(settings.learning_rate)),
              momentum_(static_cast<T>(settings.momentum)),
              velocity_(settings.momentum != 0.0 ? parameter_count : 0) {
            if (!(settings.learning_rate >= 0.0))
                throw std::invalid_argument("kiln::sgd: the learning rate must be >= 0");
            if (!(settings.momentum >= 0.0 && settings.momentum < 1.0))
                throw std::invalid_argument("kiln::sgd: momentum must be in [0, 1)");
        }

        void update(std::span<T> parameters, std::span<const T> gradients) noexcept {
            T* const w = parameters.data();
            const T* const g = gradients.data();
            const std::size_t n = parameters.size();
            if (velocity_.size() == 0) {
                for (std::size_t i = 0; i < n; ++i)
                    w[i] -= rate_ * g[i];
                return;
            }
            T* const v = velocity_.data();
            for (std::size_t i = 0; i < n; ++i) {
                v[i] = momentum_ * v[i] + g[i];
                w[i] -= rate_ * v[i];
            }
        }

        std::span<const T> velocity() const noexcept { return velocity_.span(); }

    private:
        T rate_;
        T momentum_;
        aligned_buffer<T> velocity_;
    };
};

} // namespace kiln
