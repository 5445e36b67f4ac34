#pragma once
// Central differences in double against a network's backward: the objective is
// L = sum_k c_k y_k with fixed random c, so dL/dy = c and each layer's backward
// is checked without a loss in the way. Pass: |backprop - numeric| /
// max(|backprop|, |numeric|, 0.01) below 1e-6 for every parameter and, unless the
// input is token ids (Vocab != 0: the ids are drawn from [0, Vocab)), every input.
#include <kiln/kiln.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace kiln::testing {

inline constexpr double eps = 1e-6;
inline constexpr double tolerance = 1e-6;

inline double relative_error(double backprop, double numeric) {
    return std::abs(backprop - numeric) / std::max({std::abs(backprop), std::abs(numeric), 0.01});
}

// A bound loss's gradient with respect to its outputs z against central
// differences; truth is what it reads (labels or targets) for batch examples.
// Returns how many entries of the gradient are not 0.
template <class Loss, class Truth>
std::size_t check_loss_gradient(std::vector<double> z, const std::vector<Truth>& truth,
                                std::size_t batch) {
    std::vector<double> gradient(z.size());
    Loss::evaluate(z.data(), truth.data(), batch, gradient.data());
    std::size_t nonzero = 0;
    for (std::size_t i = 0; i < z.size(); ++i) {
        const double saved = z[i];
        z[i] = saved + eps;
        const double plus = Loss::evaluate(z.data(), truth.data(), batch);
        z[i] = saved - eps;
        const double minus = Loss::evaluate(z.data(), truth.data(), batch);
        z[i] = saved;
        INFO("entry ", i);
        REQUIRE(relative_error(gradient[i], (plus - minus) / (2 * eps)) < tolerance);
        nonzero += gradient[i] != 0;
    }
    return nonzero;
}

template <class Net, std::size_t Vocab = 0, std::size_t Batch = 3>
struct probe {
    static constexpr std::size_t batch = Batch;
    kiln::model<Net, double> net{kiln::init::normal{0, 0.5}, 11};
    kiln::workspace<Net, double> space{batch};
    std::vector<double> x = std::vector<double>(batch * Net::input_shape::size);
    std::vector<double> c = std::vector<double>(batch * Net::output_shape::size);
    // Evaluation unless a test says training (dropout's mask is fixed by the mode's
    // seed and step, so every objective() draws the same one).
    kiln::pass_mode mode{};

    probe() {
        kiln::rng random(5);
        for (auto& v : x)
            v = Vocab ? static_cast<double>(random.below(Vocab)) : random.normal();
        for (auto& v : c)
            v = random.normal();
    }
    auto input() {
        return kiln::batch_view<typename Net::input_shape, const double>(x.data(), batch);
    }

    // Sum of |c y|: what the objective's rounding error scales with.
    double term_magnitude = 0;

    double objective() {
        const auto y = kiln::forward(net, space, input(), mode);
        double total = 0;
        term_magnitude = 0;
        for (std::size_t i = 0; i < y.size(); ++i) {
            total += c[i] * y.data()[i];
            term_magnitude += std::abs(c[i] * y.data()[i]);
        }
        return total;
    }

    // The finest difference a central difference can resolve: the objective's
    // rounding (a few machine epsilons of its terms' magnitude, more through deep
    // networks) over 2 eps. A whole GPT's objective is about 100 in size, which puts
    // this near 1e-8: the relative tolerance's own floor (1e-6 of 0.01).
    double resolution() const {
        return 8 * std::numeric_limits<double>::epsilon() * term_magnitude / (2 * eps);
    }

    // backprop agrees with numeric to the relative tolerance, or within resolution().
    bool agrees(double backprop, double numeric) const {
        return relative_error(backprop, numeric) < tolerance ||
               std::abs(backprop - numeric) < resolution();
    }

    // d objective / d value, with value a parameter or an input.
    double central_difference(double& value) {
        const double saved = value;
        value = saved + eps;
        const double plus = objective();
        value = saved - eps;
        const double minus = objective();
        value = saved;
        return (plus - minus) / (2 * eps);
    }

    void check() {
        objective();
        std::copy(c.begin(), c.end(), kiln::output_gradient(space).data());
        std::vector<double> input_gradient(x.size());
        kiln::backward(net, space, input_gradient.data());
        const std::vector<double> gradient(net.gradients().begin(), net.gradients().end());

        auto params = net.parameters();
        // Model state (batch_norm's running statistics) gets no gradient, as PyTorch's
        // buffers get none, though evaluation's output depends on it.
        std::vector<bool> model_state(params.size());
        kiln::for_each_layer<Net>([&](auto visit) {
            using layer = typename decltype(visit)::layer;
            constexpr std::size_t offset = decltype(visit)::param_offset;
            for (std::size_t i = offset + kiln::trained_size_of<layer>;
                 i < offset + layer::storage_size; ++i)
                model_state[i] = true;
        });
        std::size_t checked = 0;
        for (std::size_t i = 0; i < params.size(); ++i) {
            if (model_state[i]) {
                REQUIRE(gradient[i] == 0);
                continue;
            }
            const double numeric = central_difference(params[i]);
            INFO("parameter ", i);
            INFO("backprop ", gradient[i], ", numeric ", numeric, ", resolution ", resolution());
            REQUIRE(agrees(gradient[i], numeric));
            checked += numeric != 0;
        }
        // A network with parameters must move the objective through some of them.
        CHECK((params.size() == 0 || checked > 0));
        if (Vocab != 0) return;
        for (std::size_t i = 0; i < x.size(); ++i) {
            INFO("input ", i);
            const double numeric = central_difference(x[i]);
            INFO("backprop ", input_gradient[i], ", numeric ", numeric);
            REQUIRE(agrees(input_gradient[i], numeric));
        }
    }
};

} // namespace kiln::testing
