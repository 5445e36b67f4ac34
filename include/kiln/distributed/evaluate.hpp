#pragma once
// Evaluation shared between the processes of an MPI run: each process scores its
// rows of the data set (every process holds all of it and the same model), and
// the sums come together, so that every process gets the same result and makes
// the same decisions from it (early stopping, the best epoch). With one process
// it is kiln::evaluate's result, bit for bit.
#include "kiln/distributed/communicator.hpp"
#include "kiln/distributed/data_parallel.hpp"
#include "kiln/train/evaluate.hpp"
#include "kiln/train/evaluator.hpp"

#include <array>

namespace kiln::distributed {

// kiln::evaluate (train/evaluate.hpp) over every process's rows of x.
template <class Loss = softmax_cross_entropy, class Net, class T, class SpaceNet, class SpaceT,
          class Shape, class U, class Labels>
requires is_label_or_target_view<Labels>
    evaluation evaluate(const communicator& comm, const model<Net, T>& net,
                        workspace<SpaceNet, SpaceT>& space, batch_view<Shape, U> x, Labels labels) {
    if (comm.size() == 1) return kiln::evaluate<Loss>(net, space, x, labels);
    const work_share::range mine = rows_of_process(comm, x.batch());
    const std::size_t count = mine.end - mine.begin;
    const evaluation part =
        kiln::evaluate<Loss>(net, space, x.rows(mine.begin, count), labels.rows(mine.begin, count));
    std::array<double, 2> sums{part.loss * static_cast<double>(part.count),
                               static_cast<double>(part.correct)};
    comm.sum(std::span<double>(sums));
    return kiln::detail::summarize<bound_loss<Loss, Net>>(
        sums[0], static_cast<std::size_t>(sums[1]), x.batch());
}

// evaluator::mean_loss (train/evaluator.hpp) over every process's rows of x.
template <class Net, class Loss, class T, class Shape, class U, class Labels>
double mean_loss(const communicator& comm, evaluator<Net, Loss, T>& scorer,
                 const model<Net, T>& net, batch_view<Shape, U> x, Labels labels) {
    if (comm.size() == 1) return scorer.mean_loss(net, x, labels);
    const work_share::range mine = rows_of_process(comm, x.batch());
    const std::size_t count = mine.end - mine.begin;
    const double part = count == 0 ? 0.0
                                   : scorer.mean_loss(net, x.rows(mine.begin, count),
                                                      labels.rows(mine.begin, count));
    return comm.sum(part * static_cast<double>(count)) /
           static_cast<double>(std::max<std::size_t>(1, x.batch()));
}

} // namespace kiln::distributed
