#pragma once
// kiln::evaluator: the mean loss (and, for a classifier, the accuracy) of a model
// over many examples on every core of a pool at once. A forward pass of a small
// network is too short to split between cores, but a data set is a long row of
// independent passes: each core takes a contiguous part of the examples and runs
// it, chunk by chunk, in a workspace of its own whose passes stay on that core.
//
// The parts are fixed by the pool's size and their sums are added in order, so
// the result does not depend on which core ran which part, nor on whether a late
// worker left both parts to the caller.
#include "kiln/core/tensor.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/graph/propagate.hpp"
#include "kiln/graph/workspace.hpp"
#include "kiln/losses/softmax_cross_entropy.hpp"
#include "kiln/train/check_labels.hpp"
#include "kiln/train/evaluate.hpp"
#include "kiln/train/loss_rules.hpp"
#include "kiln/train/trainer.hpp"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <vector>

namespace kiln {

namespace error {
template <class Got, class Needs>
struct evaluator_given_a_model_of_another_network {
    static void report() {
        static_assert(facts_of_the_error<Got, Needs>,
                      "kiln: the evaluator was declared for 'Needs' but is given 'Got', a model "
                      "of another network or scalar type. Fix: declare the evaluator for the "
                      "model's network and type, kiln::evaluator<Net, Loss, T> with the Net and T "
                      "of kiln::model<Net, T>.");
    }
};
} // namespace error

template <class Net, class Loss = softmax_cross_entropy, class T = float>
class evaluator {
    // The loss keeps the same rules as in training (train/loss_rules.hpp).
    static_assert(checked(enforce<loss_rules<Net, Loss>>));

public:
    using loss_type = bound_loss<Loss, Net>;

    // chunk: the examples one forward pass takes (each core's workspace holds that many).
    [[gnu::cold]] explicit evaluator(std::size_t chunk, thread_pool& pool = default_thread_pool())
        : pool_(&pool), chunk_(chunk), part_sums_(pool.size()), part_correct_(pool.size()) {
        for (std::size_t i = 0; i < pool.size(); ++i)
            spaces_.push_back(std::make_unique<workspace<Net, T>>(chunk, one_core_));
    }

    // The mean loss over the examples of x (for a sequence loss, over every position).
    template <class Shape, class U, class Labels>
    requires is_label_or_target_view<Labels>
    double mean_loss(const model<Net, T>& net, batch_view<Shape, U> x, Labels labels) {
        if constexpr (enforce<first_broken<loss_rules<Net, Loss>,
                                           batch_rules<Net, T, loss_type, Shape, U, Labels>>>) {
            check_labels(labels, x.batch(), "kiln::evaluator::mean_loss");
            run_parts(x.batch(), [&](workspace<Net, T>& space, std::size_t first, std::size_t count,
                                     std::size_t part) {
                const auto out = forward(net, space, x.rows(first, count));
                const auto chunk_labels = labels.rows(first, count);
                part_sums_[part] += static_cast<double>(loss_type::evaluate(
                                        out.data(), chunk_labels.data(), count)) *
                                    static_cast<double>(count);
            });
            return total_of(part_sums_) / static_cast<double>(std::max<std::size_t>(1, x.batch()));
        } else {
            return 0; // after a reported mistake
        }
    }

    // The mean loss and accuracy of a classifier over the examples of x (a
    // regression's: the mean loss, with accuracy 0).
    template <class Shape, class U, class Labels>
    requires is_label_or_target_view<Labels>
        evaluation evaluate(const model<Net, T>& net, batch_view<Shape, U> x, Labels labels) {
        if constexpr (enforce<first_broken<loss_rules<Net, Loss>,
                                           batch_rules<Net, T, loss_type, Shape, U, Labels>>>) {
            check_labels(labels, x.batch(), "kiln::evaluator::evaluate");
            run_parts(x.batch(), [&](workspace<Net, T>& space, std::size_t first, std::size_t count,
                                     std::size_t part) {
                const evaluation chunk = detail::evaluate_checked<loss_type>(
                    net, space, x.rows(first, count), labels.rows(first, count));
                part_sums_[part] += chunk.loss * static_cast<double>(count);
                part_correct_[part] += chunk.correct;
            });
            std::size_t correct = 0;
            for (const std::size_t part_correct : part_correct_)
                correct += part_correct;
            return detail::summarize<loss_type>(total_of(part_sums_), correct, x.batch());
        } else {
            return {}; // after a reported mistake
        }
    }

    // A model of another network or scalar type is reported in words, not as a
    // failed overload resolution.
    template <class OtherNet, class U, class Examples, class Labels>
    requires(!std::is_same_v<model<OtherNet, U>, model<Net, T>>) double mean_loss(
        const model<OtherNet, U>&, Examples, Labels) {
        static_assert(checked(require<false, model_of_another_network<OtherNet, U>>));
        return 0;
    }
    template <class OtherNet, class U, class Examples, class Labels>
    requires(!std::is_same_v<model<OtherNet, U>, model<Net, T>>) evaluation
        evaluate(const model<OtherNet, U>&, Examples, Labels) {
        static_assert(checked(require<false, model_of_another_network<OtherNet, U>>));
        return {};
    }

private:
    template <class OtherNet, class U>
    using model_of_another_network =
        error::evaluator_given_a_model_of_another_network<model<OtherNet, U>, model<Net, T>>;

    // Cuts [0, examples) into one part per core and calls
    // run(space, first, count, part) for each chunk of each part, a part's chunks
    // in order on one core.
    template <class Run>
    void run_parts(std::size_t examples, Run&& run) {
        std::fill(part_sums_.begin(), part_sums_.end(), 0.0);
        std::fill(part_correct_.begin(), part_correct_.end(), std::size_t{0});
        pool_->run_fixed_parts([&](std::size_t part, std::size_t slot) {
            const work_share::range range = work_share{part, spaces_.size()}.rows(examples);
            for (std::size_t first = range.begin; first < range.end; first += chunk_)
                run(*spaces_[slot], first, std::min(chunk_, range.end - first), part);
        });
    }

    static double total_of(const std::vector<double>& sums) {
        double total = 0;
        for (const double sum : sums)
            total += sum;
        return total;
    }

    thread_pool* pool_;
    thread_pool one_core_{1}; // the workspaces' own passes: never split again
    std::size_t chunk_;
    std::vector<std::unique_ptr<workspace<Net, T>>> spaces_;
    std::vector<double> part_sums_;
    std::vector<std::size_t> part_correct_;
};

} // namespace kiln
