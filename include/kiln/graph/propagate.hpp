#pragma once
// forward and backward through a whole network, unrolled at compile time: a fold
// over the layer list, each call specialised on its layer's sizes.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/tensor.hpp"
#include "kiln/core/type_list.hpp"
#include "kiln/graph/model.hpp"
#include "kiln/graph/workspace.hpp"
#include "kiln/optim/gradient_sink.hpp"

#include <type_traits>

namespace kiln {

namespace error {
template <class Layer, class Got, class Needs>
struct input_shape_does_not_match_the_network {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: the examples passed to the model have shape 'Got' but the network's "
                      "kiln::input (layer 0) declares 'Needs'. Fix: declare the input as the data "
                      "is (e.g. kiln::input<28, 28> followed by kiln::flatten), or view the data "
                      "in the network's shape with batch.as<Needs>().");
    }
};
template <class Got, class Needs>
struct data_scalar_differs_from_the_model {
    static void report() {
        static_assert(facts_of_the_error<Got, Needs>,
                      "kiln: the examples passed to the model hold 'Got' values but the model's "
                      "parameters are 'Needs'. Fix: convert the data, or make the model of the "
                      "data's type (kiln::model<Net, Got>).");
    }
};
template <class Got, class Needs>
struct workspace_is_for_another_network {
    static void report() {
        static_assert(facts_of_the_error<Got, Needs>,
                      "kiln: the workspace 'Got' was made for another network or scalar type than "
                      "the model it serves ('Needs'). Fix: make the workspace of the model's own "
                      "types, kiln::workspace<Net, T> with the Net and T of kiln::model<Net, T>.");
    }
};
} // namespace error

// The rules data passed to a model keeps: the model's scalar type, the input's shape.
template <class Net, class T, class Shape, class U>
using input_rules =
    first_broken<rule<std::is_same_v<std::remove_const_t<U>, T>,
                      error::data_scalar_differs_from_the_model<std::remove_const_t<U>, T>>,
                 rule<std::is_same_v<Shape, typename Net::input_shape>,
                      error::input_shape_does_not_match_the_network<
                          layer<0, typename Net::input_spec>, Shape, typename Net::input_shape>>>;

// A workspace serves the model of its own network and scalar type.
template <class Net, class T, class Space>
using workspace_rule = rule<std::is_same_v<Space, workspace<Net, T>>,
                            error::workspace_is_for_another_network<Space, workspace<Net, T>>>;

namespace detail {
template <class Net, class T, class SpaceNet, class SpaceT, class Shape, class U>
batch_view<typename Net::output_shape, const T>
forward_in_mode(const model<Net, T>& net, workspace<SpaceNet, SpaceT>& space,
                batch_view<Shape, U> x, const pass_mode& mode) {
    if constexpr (enforce<first_broken<workspace_rule<Net, T, workspace<SpaceNet, SpaceT>>,
                                       input_rules<Net, T, Shape, U>>>) {
        space.bind_input(x.data(), x.batch());
        space.set_mode(mode);
        const T* const out =
            Net::network_runner::forward(net.parameters().data(), x.data(), space.memory(),
                                         x.batch(), split_between_cores<Net, T>{&space}, mode);
        return {out, x.batch()};
    } else {
        return {}; // after a reported mistake: nothing more to check or to say
    }
}
} // namespace detail

// Runs the network on x in evaluation (dropout off, batch_norm on its running
// statistics); the result lives in the workspace until its next use.
template <class Net, class T, class SpaceNet, class SpaceT, class Shape, class U>
batch_view<typename Net::output_shape, const T>
forward(const model<Net, T>& net, workspace<SpaceNet, SpaceT>& space, batch_view<Shape, U> x) {
    return detail::forward_in_mode(net, space, x, pass_mode{});
}

// The same in the mode given: a training pass may update the model's state
// (batch_norm's running statistics), so it takes the model as one that changes.
template <class Net, class T, class SpaceNet, class SpaceT, class Shape, class U>
batch_view<typename Net::output_shape, const T>
forward(model<Net, T>& net, workspace<SpaceNet, SpaceT>& space, batch_view<Shape, U> x,
        const pass_mode& mode) {
    return detail::forward_in_mode(net, space, x, mode);
}

// Where the loss writes d loss / d output before calling backward.
template <class Net, class T>
batch_view<typename Net::output_shape, T> output_gradient(workspace<Net, T>& space) {
    return {space.gradient_buffer(false), space.batch()};
}

// Back-propagates output_gradient(space) through the network of the last forward
// pass, of `space.batch()` examples, in that pass's mode. Each layer hands its parameter gradients
// to the sink that sinks.slice(its offset) makes (optim/gradient_sink.hpp); when input_gradient is
// not null, d loss / d input is written there too. Layers sum partial gradients in their slice of
// `scratch`, a buffer laid out as net.gradients() (that buffer itself unless given another: each
// core of a split mini-batch has its own).
template <class Net, class T, class Sinks>
void backward(model<Net, T>& net, workspace<Net, T>& space, const Sinks& sinks,
              T* input_gradient = nullptr, T* scratch = nullptr) {
    auto sink = sinks.slice(0);
    Net::network_runner::backward(
        net.parameters().data(), scratch != nullptr ? scratch : net.gradients().data(),
        space.input(), space.memory(), space.gradient_buffer(false), input_gradient, space.batch(),
        sink, split_between_cores<Net, T>{&space}, space.mode());
}

// Back-propagates and stores every parameter gradient in net.gradients().
template <class Net, class T>
void backward(model<Net, T>& net, workspace<Net, T>& space, T* input_gradient = nullptr) {
    backward(net, space, store_gradients<T>{net.gradients().data()}, input_gradient);
}

} // namespace kiln
