#pragma once
// kiln::trainer: one model, one loss, one optimizer, and the workspace for a
// mini-batch. A step is forward, loss, and backward with the optimizer's update
// folded into the weight-gradient pass, with no allocation, no virtual call and no
// runtime shape check: shapes were checked when the types met.
#include "kiln/core/tensor.hpp"
#include "kiln/graph/model.hpp"
#include "kiln/graph/propagate.hpp"
#include "kiln/graph/workspace.hpp"
#include "kiln/losses/softmax_cross_entropy.hpp"
#include "kiln/optim/sgd.hpp"

#include <cstddef>

namespace kiln {

namespace error {
template <class Got, class Needs>
struct trainer_given_a_model_of_another_network {
    static void report() {
        static_assert(facts_of_the_error<Got, Needs>,
                      "kiln: the trainer (and its optimizer) was declared for 'Needs' but is given "
                      "'Got', a model of another network or scalar type. Fix: declare the trainer "
                      "for the model's network and type, kiln::trainer<Net, Loss, Optimizer, T> "
                      "with the Net and T of kiln::model<Net, T>.");
    }
};
} // namespace error

// The loss bound to a network's output, named by the network's last layer.
template <class Loss, class Net>
using bound_loss = typename Loss::template bind<
    typename Net::output_shape,
    layer<Net::layer_count, typename Net::template layer_t<Net::layer_count>::spec>>;

// The rules a labelled mini-batch keeps: its data fits the model, its labels the loss.
template <class Net, class T, class Loss, class Shape, class U, std::size_t Classes>
using batch_rules =
    first_broken<input_rules<Net, T, Shape, U>, typename Loss::template labels_rule<Classes>>;

template <class Net, class Loss = softmax_cross_entropy, class Optimizer = sgd, class T = float>
class trainer {
public:
    using loss_type = bound_loss<Loss, Net>;
    // Only a valid network's output is checked: a broken one has reported its mistake.
    static_assert(checked(
        enforce<std::conditional_t<Net::valid, typename detail::broken_rule_of<loss_type>::type,
                                   no_broken_rule>>));
    static_assert(checked(loss_type::valid));

    trainer(model<Net, T>& net, const Optimizer& optimizer, std::size_t max_batch,
            thread_pool& pool = default_thread_pool())
        : net_(net), space_(max_batch, pool), optimizer_(optimizer, net.parameters().size()) {}

    // A model of another network or scalar type is reported in words, not as a
    // failed overload resolution.
    template <class OtherNet, class U>
    requires(!std::is_same_v<model<OtherNet, U>, model<Net, T>>)
        trainer(model<OtherNet, U>& net, const Optimizer& optimizer, std::size_t max_batch,
                thread_pool& pool = default_thread_pool())
        : net_(model_never_made()), space_(max_batch, pool),
          optimizer_(optimizer, net.parameters().size()) {
        static_assert(
            checked(require<std::is_same_v<model<OtherNet, U>, model<Net, T>>,
                            error::trainer_given_a_model_of_another_network<model<OtherNet, U>,
                                                                            model<Net, T>>>));
    }

    // Forward, backward and update on one mini-batch; returns its mean loss. The
    // gradient is not kept (model().gradients() holds scratch afterwards).
    template <class Shape, class U, std::size_t Classes>
    T step(batch_view<Shape, U> x, label_view<Classes> labels) {
        if constexpr (enforce<batch_rules<Net, T, loss_type, Shape, U, Classes>>) {
            const T loss = forward_loss(x, labels);
            backward(net_, space_, optimizer_.fused(net_.parameters().data()));
            return loss;
        } else {
            return T{}; // after a reported mistake
        }
    }

    // Forward and backward only: the gradient is left in model().gradients().
    template <class Shape, class U, std::size_t Classes>
    T compute_gradients(batch_view<Shape, U> x, label_view<Classes> labels,
                        T* input_gradient = nullptr) {
        if constexpr (enforce<batch_rules<Net, T, loss_type, Shape, U, Classes>>) {
            const T loss = forward_loss(x, labels);
            backward(net_, space_, input_gradient);
            return loss;
        } else {
            return T{};
        }
    }

    // The mean loss on a mini-batch, without gradients.
    template <class Shape, class U, std::size_t Classes>
    T loss(batch_view<Shape, U> x, label_view<Classes> labels) {
        if constexpr (enforce<batch_rules<Net, T, loss_type, Shape, U, Classes>>) {
            const auto out = forward(net_, space_, x);
            return loss_type::evaluate(out.data(), labels.data(), out.batch());
        } else {
            return T{};
        }
    }

    model<Net, T>& net() noexcept { return net_; }
    workspace<Net, T>& space() noexcept { return space_; }
    typename Optimizer::template state<T>& optimizer() noexcept { return optimizer_; }

private:
    // Forward and the loss, leaving d loss / d output in the workspace.
    template <class Shape, class U, std::size_t Classes>
    T forward_loss(batch_view<Shape, U> x, label_view<Classes> labels) {
        const auto out = forward(net_, space_, x);
        return loss_type::evaluate(out.data(), labels.data(), out.batch(),
                                   output_gradient(space_).data());
    }

    // Declared only: it stands for the model in the constructor that reports a model
    // of another network, which can never compile, so it is never called.
    static model<Net, T>& model_never_made();

    model<Net, T>& net_;
    workspace<Net, T> space_;
    typename Optimizer::template state<T> optimizer_;
};

} // namespace kiln
