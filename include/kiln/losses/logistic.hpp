#pragma once
// kiln::logistic: ln(1 + exp(-y s)) for one score s per example and a label y in
// {-1, +1}, mean over the batch (SEED.md B). Labels come as a kiln::sign_label_view,
// which holds -1 and +1 only. The gradient with respect to the score is -y sigma(-y s).
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>

namespace kiln {

namespace error {
template <class Layer, class Got, class Needs>
struct logistic_needs_one_score_per_example {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: the logistic loss needs one score per example (shape 'Needs'), but "
                      "the network's last layer produces shape 'Got'. Fix: end the network with "
                      "kiln::flatten (if needed) and kiln::linear<1> or kiln::linear_no_bias<1>.");
    }
};
template <class Layer, class Got, class Needs>
struct logistic_needs_sign_labels {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: the logistic loss reads labels -1 and +1 ('Needs'), but is given "
                      "'Got' (class indices or real targets). Fix: write the labels as -1 and +1 "
                      "and pass them as kiln::sign_label_view(labels, batch).");
    }
};
} // namespace error

struct logistic {
    static std::string name() { return "logistic"; }
    // One vector per example, of one score (train/loss_rules.hpp).
    static constexpr bool reads_one_vector = true;

    template <class Scores, class LastLayer>
    struct bind {
        // The rules the loss states (core/diagnostics.hpp); the trainer reports them.
        using broken_rule = first_broken<
            rule<std::is_same_v<Scores, shape<1>>,
                 error::logistic_needs_one_score_per_example<LastLayer, Scores, shape<1>>>>;
        static constexpr bool valid = broken_rule::holds;
        static constexpr std::size_t labels_per_example = 1;

        // The labels it reads: -1 and +1, in their own view.
        template <class Labels>
        using labels_rule =
            rule<std::is_same_v<Labels, sign_label_view>,
                 error::logistic_needs_sign_labels<LastLayer, Labels, sign_label_view>>;

        // The predicted label: +1 for a positive score, else -1.
        template <class T>
        static label_t predict(const T* score) noexcept {
            return *score > T{0} ? 1 : -1;
        }

        // Mean loss; when gradient is not null, also d loss / d score.
        template <class T>
        static T evaluate(const T* scores, const label_t* labels, std::size_t batch,
                          T* gradient = nullptr) noexcept {
            double total = 0;
            const T inverse_batch = T{1} / static_cast<T>(batch);
            for (std::size_t b = 0; b < batch; ++b) {
                const T margin = static_cast<T>(labels[b]) * scores[b];
                // ln(1 + e^-m) without overflow for either sign of m.
                total += static_cast<double>(std::max(-margin, T{0}) +
                                             std::log1p(std::exp(-std::abs(margin))));
                if (gradient == nullptr) continue;
                // sigma(-m), from the side where exp cannot overflow.
                const T e = std::exp(-std::abs(margin));
                const T sigma_of_minus_margin = margin >= T{0} ? e / (T{1} + e) : T{1} / (T{1} + e);
                gradient[b] = -static_cast<T>(labels[b]) * sigma_of_minus_margin * inverse_batch;
            }
            return static_cast<T>(total / static_cast<double>(batch));
        }
    };
};

} // namespace kiln
