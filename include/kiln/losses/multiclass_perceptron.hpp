#pragma once
// kiln::multiclass_perceptron: max(0, max_{c != y} z_c - z_y) per example, mean over
// the batch (SEED.md A). Its (sub)gradient with respect to the scores is +1 at the
// top-scoring class and -1 at the label when they differ, and zero otherwise, so
// SGD with rate 1 at batch 1 is the perceptron's update: w_y += x, w_top -= x.
// A tie between the label and an earlier class counts as a mistake, as the
// algorithm's "if the top class is not y_i" does (the loss is then 0).
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/tensor.hpp"
#include "kiln/losses/softmax_cross_entropy.hpp"

#include <algorithm>
#include <cstddef>
#include <string>

namespace kiln {

struct multiclass_perceptron {
    static std::string name() { return "multiclass_perceptron"; }
    // One vector of class scores per example (train/loss_rules.hpp).
    static constexpr bool reads_one_vector = true;

    template <class Scores, class LastLayer>
    struct bind {
        using broken_rule = no_broken_rule;
        static constexpr bool valid = true;
        static constexpr std::size_t labels_per_example = 1;
        static constexpr std::size_t class_count = last_dim<Scores>;

        template <class Labels>
        using labels_rule = class_labels_rule<Labels, class_count, 1, LastLayer>;

        // The predicted class: the first top score.
        template <class T>
        static std::size_t predict(const T* scores) noexcept {
            return static_cast<std::size_t>(std::max_element(scores, scores + class_count) -
                                            scores);
        }

        // Mean loss; when gradient is not null, also d loss / d scores.
        template <class T>
        static T evaluate(const T* scores, const label_t* labels, std::size_t batch,
                          T* gradient = nullptr) noexcept {
            double total = 0;
            const T inverse_batch = T{1} / static_cast<T>(batch);
            for (std::size_t b = 0; b < batch; ++b) {
                const T* const z = scores + b * class_count;
                const auto label = static_cast<std::size_t>(labels[b]);
                T best_other = z[label == 0 ? 1 % class_count : 0];
                for (std::size_t c = 0; c < class_count; ++c)
                    if (c != label) best_other = std::max(best_other, z[c]);
                total += static_cast<double>(std::max(T{0}, best_other - z[label]));
                if (gradient == nullptr) continue;
                T* const g = gradient + b * class_count;
                std::fill_n(g, class_count, T{0});
                const std::size_t top = predict(z);
                if (top != label) {
                    g[top] = inverse_batch;
                    g[label] = -inverse_batch;
                }
            }
            return static_cast<T>(total / static_cast<double>(batch));
        }
    };
};

} // namespace kiln
