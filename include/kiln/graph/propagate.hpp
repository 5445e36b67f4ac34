#pragma once
// forward and backward through a whole network, unrolled at compile time: a fold
// over the layer list, each call specialised on its layer's sizes.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/tensor.hpp"
#include "kiln/core/type_list.hpp"
#include "kiln/graph/layer_calls.hpp"
#include "kiln/graph/model.hpp"
#include "kiln/graph/workspace.hpp"
#include "kiln/optim/gradient_sink.hpp"

#include <algorithm>

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

// Runs the network on x; the result lives in the workspace until its next use.
template <class Net, class T, class SpaceNet, class SpaceT, class Shape, class U>
batch_view<typename Net::output_shape, const T>
forward(const model<Net, T>& net, workspace<SpaceNet, SpaceT>& space, batch_view<Shape, U> x) {
    if constexpr (enforce<first_broken<workspace_rule<Net, T, workspace<SpaceNet, SpaceT>>,
                                       input_rules<Net, T, Shape, U>>>) {
        const std::size_t batch = x.batch();
        space.bind_input(x.data(), batch);
        auto step = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            using layer_type = type_at<I - 1, typename Net::layers>;
            if constexpr (is_stateful<layer_type>) {
                layer_type::forward(
                    net.template parameters_of<I>(), space.template activation<I - 1>(),
                    space.template activation<I>(), space.template saved<I>(), batch);
            } else if constexpr (!layer_type::is_view) {
                const T* const params = net.template parameters_of<I>();
                const T* const x = space.template activation<I - 1>();
                T* const y = space.template activation<I>();
                space.pool().run(
                    space.parts_for(layer_type::flops_per_example * batch,
                                    layer_type::storage_size * sizeof(T)),
                    [&](work_share share) { layer_type::forward(params, x, y, batch, share); });
            }
        };
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (step(std::integral_constant<std::size_t, I + 1>{}), ...);
        }
        (std::make_index_sequence<Net::layer_count>{});
        return {space.template activation<Net::layer_count>(), x.batch()};
    } else {
        return {}; // after a reported mistake: nothing more to check or to say
    }
}

// Where the loss writes d loss / d output before calling backward.
template <class Net, class T>
batch_view<typename Net::output_shape, T> output_gradient(workspace<Net, T>& space) {
    return {space.gradient_buffer(false), space.batch()};
}

// Whether any layer before position I has parameters.
template <class Net, std::size_t I>
inline constexpr bool has_parameters_before = []<std::size_t... J>(std::index_sequence<J...>) {
    return ((type_at<J, typename Net::layers>::param_count != 0) || ... || false);
}
(std::make_index_sequence<I - 1>{});

// Back-propagates output_gradient(space) through the network of the last forward
// pass. Each layer hands its parameter gradients to the sink that
// sinks.slice(its offset) makes (optim/gradient_sink.hpp); when input_gradient is
// not null, d loss / d input is written there too. Layers sum partial gradients
// in their slice of `scratch`, a buffer laid out as net.gradients() (that buffer
// itself unless given another: each core of a split mini-batch has its own).
template <class Net, class T, class Sinks>
void backward(model<Net, T>& net, workspace<Net, T>& space, const Sinks& sinks,
              T* input_gradient = nullptr, T* scratch = nullptr) {
    const std::size_t batch = space.batch();
    T* const scratch_base = scratch != nullptr ? scratch : net.gradients().data();
    bool in_second = false; // which ping-pong buffer holds d loss / d (current output)
    auto step = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
        using layer_type = type_at<I - 1, typename Net::layers>;
        if constexpr (!layer_type::passes_gradient) {
            const T* const dy = space.gradient_buffer(in_second);
            // The input gradient is only worth computing when a layer before this
            // one has parameters, or the caller asked for d loss / d input.
            T* const dx = I == 1                          ? input_gradient
                          : has_parameters_before<Net, I> ? space.gradient_buffer(!in_second)
                          : input_gradient                ? space.gradient_buffer(!in_second)
                                                          : nullptr;
            const T* const params = net.template parameters_of<I>();
            const T* const x = space.template activation<I - 1>();
            const T* const y = space.template activation<I>();
            if constexpr (is_stateful<layer_type>) {
                // One pass on one core: the input gradient, then the parameters'.
                auto sink = sinks.slice(model<Net, T>::template offset_of<I>);
                layer_type::backward(params, scratch_base + model<Net, T>::template offset_of<I>, x,
                                     y, space.template saved<I>(), dy, dx, batch, sink);
            } else {
                const std::size_t parts = space.parts_for(layer_type::flops_per_example * batch,
                                                          layer_type::storage_size * sizeof(T));
                // The input gradient first: it reads the parameters the sink may update.
                if (dx != nullptr)
                    space.pool().run(parts, [&](work_share share) {
                        layer_type::backward_input(params, x, y, dy, dx, batch, share);
                    });
                if constexpr (layer_type::param_count != 0) {
                    auto sink = sinks.slice(model<Net, T>::template offset_of<I>);
                    T* const layer_scratch = scratch_base + model<Net, T>::template offset_of<I>;
                    space.pool().run(parts, [&](work_share share) {
                        layer_type::backward_params(params, layer_scratch, x, y, dy, batch, sink,
                                                    share);
                    });
                }
            }
            in_second = !in_second;
        } else if (I == 1 && input_gradient != nullptr) {
            const T* const dy = space.gradient_buffer(in_second);
            std::copy_n(dy, batch * layer_type::in_shape::size, input_gradient);
        }
    };
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (step(std::integral_constant<std::size_t, Net::layer_count - I>{}), ...);
    }
    (std::make_index_sequence<Net::layer_count>{});
}

// Back-propagates and stores every parameter gradient in net.gradients().
template <class Net, class T>
void backward(model<Net, T>& net, workspace<Net, T>& space, T* input_gradient = nullptr) {
    backward(net, space, store_gradients<T>{net.gradients().data()}, input_gradient);
}

} // namespace kiln
