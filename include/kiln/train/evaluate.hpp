#pragma once
// Accuracy and mean loss of a model over a whole data set, in chunks as large
// as the workspace holds.
#include "kiln/core/tensor.hpp"
#include "kiln/graph/propagate.hpp"
#include "kiln/losses/softmax_cross_entropy.hpp"
#include "kiln/train/check_labels.hpp"
#include "kiln/train/loss_rules.hpp"
#include "kiln/train/trainer.hpp"

#include <algorithm>
#include <cstddef>

namespace kiln {

// A regression loss (mean_squared_error, mean_absolute_error) has no label to be
// right about: its evaluation is the mean loss, with accuracy and correct 0.
struct evaluation {
    double loss = 0;         // mean over the examples
    double accuracy = 0;     // fraction of the labels predicted right
    std::size_t correct = 0; // labels predicted right
    std::size_t count = 0;   // examples; each has the loss's labels_per_example labels
};

namespace detail {
// The evaluation of count examples from their summed loss and their labels
// predicted right.
template <class LossType>
evaluation summarize(double loss_sum, std::size_t correct, std::size_t count) {
    evaluation result;
    result.correct = correct;
    result.count = count;
    if (count > 0) {
        result.loss = loss_sum / static_cast<double>(count);
        if constexpr (predicts_labels<LossType>)
            result.accuracy = static_cast<double>(correct) /
                              static_cast<double>(count * LossType::labels_per_example);
    }
    return result;
}

// The work of evaluate, once its arguments are known to fit.
template <class LossType, class Net, class T, class Shape, class U, class Labels>
evaluation evaluate_checked(const model<Net, T>& net, workspace<Net, T>& space,
                            batch_view<Shape, U> x, Labels labels) {
    std::size_t correct = 0;
    double loss_sum = 0;
    for (std::size_t first = 0; first < x.batch(); first += space.capacity()) {
        const std::size_t count = std::min(space.capacity(), x.batch() - first);
        const auto out = forward(net, space, x.rows(first, count));
        const auto chunk_labels = labels.rows(first, count);
        loss_sum +=
            static_cast<double>(LossType::evaluate(out.data(), chunk_labels.data(), count)) *
            static_cast<double>(count);
        if constexpr (predicts_labels<LossType>) {
            // A label per example, or one per position of a sequence (per output for
            // binary cross-entropy), each predicted from its own run of logits.
            constexpr std::size_t labels_per_example = LossType::labels_per_example;
            constexpr std::size_t logits_per_label = Net::output_shape::size / labels_per_example;
            const auto* const logits = out.data();
            for (std::size_t label = 0; label < count * labels_per_example; ++label)
                // As signed numbers: a class index, or a sign (-1, +1) for the logistic loss.
                correct +=
                    static_cast<long long>(LossType::predict(logits + label * logits_per_label)) ==
                    static_cast<long long>(chunk_labels.data()[label]);
        }
    }
    return summarize<LossType>(loss_sum, correct, x.batch());
}
} // namespace detail

// The mean loss and accuracy of the model on x, in chunks as large as the workspace
// (a regression's: the mean loss alone).
// The labels fit the loss by their type (checked at compile time); every value is
// looked at once more first (train/check_labels.hpp).
template <class Loss = softmax_cross_entropy, class Net, class T, class SpaceNet, class SpaceT,
          class Shape, class U, class Labels>
requires is_label_or_target_view<Labels> evaluation evaluate(const model<Net, T>& net,
                                                             workspace<SpaceNet, SpaceT>& space,
                                                             batch_view<Shape, U> x,
                                                             Labels labels) {
    using loss_type = bound_loss<Loss, Net>;
    // The loss's own rules too: no trainer need have checked this network's output.
    if constexpr (enforce<first_broken<workspace_rule<Net, T, workspace<SpaceNet, SpaceT>>,
                                       loss_rules<Net, Loss>,
                                       batch_rules<Net, T, loss_type, Shape, U, Labels>>>) {
        check_labels(labels, x.batch(), "kiln::evaluate");
        return detail::evaluate_checked<loss_type>(net, space, x, labels);
    } else
        return {}; // after a reported mistake
}

} // namespace kiln
