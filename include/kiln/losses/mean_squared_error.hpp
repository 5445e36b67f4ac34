#pragma once
// kiln::mean_squared_error: (output - target)^2, mean over every output of every
// example, as PyTorch's nn.MSELoss(). Targets come as a kiln::target_view of the
// network's output shape (losses/regression_loss.hpp).
#include "kiln/losses/regression_loss.hpp"

#include <string>

namespace kiln {

struct mean_squared_error : regression_loss<mean_squared_error> {
    static std::string name() { return "mean_squared_error"; }

    template <class T>
    static T value(T difference) noexcept {
        return difference * difference;
    }
    template <class T>
    static T derivative(T difference) noexcept {
        return T{2} * difference;
    }
};

} // namespace kiln
