#pragma once
// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_ does it:
// the L2 norm over every parameter's gradient together, and when
// max_norm / (norm + 1e-6) is below 1 every gradient is scaled by it. kiln's
// gradients are one flat buffer (padding holds zeros), so the norm is one pass
// over it. A norm that is not finite leaves the gradients as they are (PyTorch
// would scale them by NaN): the trainer then skips the update and check_finite
// reports it (train/check_finite.hpp).
#include "kiln/kernels/simd.hpp"

#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>

namespace kiln {

// The L2 norm of all the gradients together.
template <class T>
double global_norm(std::span<const T> gradients) noexcept {
    return std::sqrt(simd::sum_of_squares(gradients.size(), gradients.data()));
}

// What clip_grad_norm_ scales by: max_norm / (norm + 1e-6), at most 1.
inline double clip_factor(double norm, double max_norm) noexcept {
    const double factor = max_norm / (norm + 1e-6);
    return factor < 1.0 ? factor : 1.0;
}

// A maximum norm from outside: > 0; infinity turns clipping off.
inline void require_max_gradient_norm(double max_norm, const char* who) {
    if (!(max_norm > 0.0))
        throw std::invalid_argument(std::string(who) +
                                    ": the maximum gradient norm must be > 0 (infinity turns "
                                    "clipping off)");
}

// Scales `gradients` so that their global norm is at most about max_norm, and
// returns the norm they had. A non-finite norm is returned with the gradients
// untouched.
template <class T>
double clip_gradient_norm(std::span<T> gradients, double max_norm) noexcept {
    const double norm = global_norm(std::span<const T>(gradients));
    if (!std::isfinite(norm)) return norm;
    if (const double factor = clip_factor(norm, max_norm); factor < 1.0)
        simd::scale_into(gradients.size(), static_cast<T>(factor), gradients.data(),
                         gradients.data());
    return norm;
}

} // namespace kiln
