#pragma once
// Accuracy and mean loss of a model over a whole data set, in chunks as large
// as the workspace holds.
#include "kiln/core/tensor.hpp"
#include "kiln/graph/propagate.hpp"
#include "kiln/losses/softmax_cross_entropy.hpp"
#include "kiln/train/trainer.hpp"

#include <algorithm>
#include <cstddef>

namespace kiln {

struct evaluation {
    double loss = 0;     // mean over the examples
    double accuracy = 0; // fraction predicted right
    std::size_t correct = 0;
    std::size_t count = 0;
};

namespace detail {
// The work of evaluate, once its arguments are known to fit.
template <class LossType, class Net, class T, class Shape, class U, std::size_t Classes>
evaluation evaluate_checked(const model<Net, T>& net, workspace<Net, T>& space,
                            batch_view<Shape, U> x, label_view<Classes> labels) {
    evaluation result;
    double loss_sum = 0;
    for (std::size_t first = 0; first < x.batch(); first += space.capacity()) {
        const std::size_t count = std::min(space.capacity(), x.batch() - first);
        const auto out = forward(net, space, x.rows(first, count));
        const auto chunk_labels = labels.rows(first, count);
        loss_sum +=
            static_cast<double>(LossType::evaluate(out.data(), chunk_labels.data(), count)) *
            static_cast<double>(count);
        for (std::size_t b = 0; b < count; ++b)
            // As signed numbers: a class index, or a sign (-1, +1) for the logistic loss.
            result.correct += static_cast<long long>(LossType::predict(out[b].data())) ==
                              static_cast<long long>(chunk_labels[b]);
    }
    result.count = x.batch();
    if (result.count > 0) {
        result.loss = loss_sum / static_cast<double>(result.count);
        result.accuracy = static_cast<double>(result.correct) / static_cast<double>(result.count);
    }
    return result;
}
} // namespace detail

// The mean loss and accuracy of the model on x, in chunks as large as the workspace.
template <class Loss = softmax_cross_entropy, class Net, class T, class SpaceNet, class SpaceT,
          class Shape, class U, std::size_t Classes>
evaluation evaluate(const model<Net, T>& net, workspace<SpaceNet, SpaceT>& space,
                    batch_view<Shape, U> x, label_view<Classes> labels) {
    using loss_type = bound_loss<Loss, Net>;
    if constexpr (enforce<first_broken<workspace_rule<Net, T, workspace<SpaceNet, SpaceT>>,
                                       batch_rules<Net, T, loss_type, Shape, U, Classes>>>)
        return detail::evaluate_checked<loss_type>(net, space, x, labels);
    else
        return {}; // after a reported mistake
}

} // namespace kiln
