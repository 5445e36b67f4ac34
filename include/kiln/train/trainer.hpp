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

// The loss bound to a network's output, named by the network's last layer.
template <class Loss, class Net>
using bound_loss = typename Loss::template bind<
    typename Net::output_shape,
    layer<Net::layer_count, typename Net::template layer_t<Net::layer_count>::spec>>;

template <class Net, class Loss = softmax_cross_entropy, class Optimizer = sgd, class T = float>
class trainer {
public:
    using loss_type = bound_loss<Loss, Net>;
    static_assert(checked(loss_type::valid));

    trainer(model<Net, T>& net, const Optimizer& optimizer, std::size_t max_batch,
            thread_pool& pool = default_thread_pool())
        : net_(net), space_(max_batch, pool), optimizer_(optimizer, net.parameters().size()) {}

    // Forward, backward and update on one mini-batch; returns its mean loss. The
    // gradient is not kept (model().gradients() holds scratch afterwards).
    template <class Shape, class U, std::size_t Classes>
    T step(batch_view<Shape, U> x, label_view<Classes> labels) {
        const T loss = forward_loss(x, labels);
        backward(net_, space_, optimizer_.fused(net_.parameters().data()));
        return loss;
    }

    // Forward and backward only: the gradient is left in model().gradients().
    template <class Shape, class U, std::size_t Classes>
    T compute_gradients(batch_view<Shape, U> x, label_view<Classes> labels,
                        T* input_gradient = nullptr) {
        const T loss = forward_loss(x, labels);
        backward(net_, space_, input_gradient);
        return loss;
    }

    // The mean loss on a mini-batch, without gradients.
    template <class Shape, class U, std::size_t Classes>
    T loss(batch_view<Shape, U> x, label_view<Classes> labels) {
        static_assert(checked(loss_type::template accepts_labels<Classes>));
        const auto out = forward(net_, space_, x);
        return loss_type::evaluate(out.data(), labels.data(), out.batch());
    }

    model<Net, T>& net() noexcept { return net_; }
    workspace<Net, T>& space() noexcept { return space_; }
    typename Optimizer::template state<T>& optimizer() noexcept { return optimizer_; }

private:
    // Forward and the loss, leaving d loss / d output in the workspace.
    template <class Shape, class U, std::size_t Classes>
    T forward_loss(batch_view<Shape, U> x, label_view<Classes> labels) {
        static_assert(checked(loss_type::template accepts_labels<Classes>));
        const auto out = forward(net_, space_, x);
        return loss_type::evaluate(out.data(), labels.data(), out.batch(),
                                   output_gradient(space_).data());
    }

    model<Net, T>& net_;
    workspace<Net, T> space_;
    typename Optimizer::template state<T> optimizer_;
};

} // namespace kiln
