#pragma once
// kiln::predict: the label a model gives an example, read from its output as the
// loss reads it (the first largest logit for softmax_cross_entropy and
// multiclass_perceptron, the sign of the score for logistic), the same reading
// kiln::evaluate counts as right or wrong.
#include "kiln/core/checked_size.hpp"
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/tensor.hpp"
#include "kiln/graph/propagate.hpp"
#include "kiln/losses/softmax_cross_entropy.hpp"
#include "kiln/train/loss_rules.hpp"
#include "kiln/train/trainer.hpp"

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace kiln {

namespace error {
template <class Loss>
struct predict_with_a_regression_loss {
    static void report() {
        static_assert(facts_of_the_error<Loss>,
                      "kiln: kiln::predict reads labels from the output as the loss 'Loss' "
                      "would, but a regression loss has no labels: its prediction is the "
                      "output itself. Fix: read the output, kiln::forward(net, space, x).");
    }
};
} // namespace error

// The rules a prediction keeps: the workspace serves the model, the data fits it,
// and the loss can read the network's output, and predicts labels from it.
template <class Loss, class Net, class T, class Space, class Shape, class U>
using predict_rules = first_broken<workspace_rule<Net, T, Space>, input_rules<Net, T, Shape, U>,
                                   loss_rules<Net, Loss>,
                                   rule<!Net::valid || predicts_labels<bound_loss<Loss, Net>>,
                                        error::predict_with_a_regression_loss<Loss>>>;

// The labels the model predicts for the examples of x, written to out: one per
// example (a class index; -1 or +1 for the logistic loss), or one per position for a
// sequence loss. Runs in chunks as large as the workspace.
template <class Loss = softmax_cross_entropy, class Net, class T, class SpaceNet, class SpaceT,
          class Shape, class U>
void predict(const model<Net, T>& net, workspace<SpaceNet, SpaceT>& space, batch_view<Shape, U> x,
             std::span<label_t> out) {
    using loss_type = bound_loss<Loss, Net>;
    if constexpr (enforce<predict_rules<Loss, Net, T, workspace<SpaceNet, SpaceT>, Shape, U>>) {
        constexpr std::size_t labels_per_example = loss_type::labels_per_example;
        constexpr std::size_t logits_per_label = Net::output_shape::size / labels_per_example;
        if (out.size() < checked_product(x.batch(), labels_per_example, "kiln::predict"))
            throw std::invalid_argument("kiln::predict: room for " + std::to_string(out.size()) +
                                        " labels, but " + std::to_string(x.batch()) +
                                        " examples give " +
                                        std::to_string(x.batch() * labels_per_example));
        for (std::size_t first = 0; first < x.batch(); first += space.capacity()) {
            const std::size_t count = std::min(space.capacity(), x.batch() - first);
            const T* const logits = forward(net, space, x.rows(first, count)).data();
            label_t* const labels = out.data() + first * labels_per_example;
            for (std::size_t label = 0; label < count * labels_per_example; ++label)
                labels[label] =
                    static_cast<label_t>(loss_type::predict(logits + label * logits_per_label));
        }
    }
}

// The label the model predicts for one example, given as its values in row-major
// order (a row of a data set, data.inputs()[i], or a std::array of the input's size).
// The workspace needs room for one example.
template <class Loss = softmax_cross_entropy, class Net, class T, class SpaceNet, class SpaceT>
requires(bound_loss<Loss, Net>::labels_per_example == 1) label_t
    predict(const model<Net, T>& net, workspace<SpaceNet, SpaceT>& space,
            std::type_identity_t<std::span<const T, Net::input_shape::size>> example) {
    label_t label = 0;
    predict<Loss>(net, space, batch_view<typename Net::input_shape, const T>(example.data(), 1),
                  std::span<label_t>(&label, 1));
    return label;
}

} // namespace kiln
