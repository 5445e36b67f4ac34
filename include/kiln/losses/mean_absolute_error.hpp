#pragma once
// kiln::mean_absolute_error: |output - target|, mean over every output of every
// example, as PyTorch's nn.L1Loss(). Targets come as a kiln::target_view of the
// network's output shape (losses/regression_loss.hpp). Where an output equals its
// target the gradient is 0, as PyTorch's sign(0).
#include "kiln/losses/regression_loss.hpp"

#include <cmath>
#include <string>

namespace kiln {

struct mean_absolute_error : regression_loss<mean_absolute_error> {
    static std::string name() { return "mean_absolute_error"; }

    template <class T>
    static T value(T difference) noexcept {
        return std::abs(difference);
    }
    template <class T>
    static T derivative(T difference) noexcept {
        return static_cast<T>((difference > T{0}) - (difference < T{0}));
    }
};

} // namespace kiln
