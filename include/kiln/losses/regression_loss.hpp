#pragma once
// kiln::regression_loss<Spec>: everything a loss that compares each output with a
// real target does, written once. A regression loss states only its function of
// the difference d = output - target:
//   name()
//   value(d)        the loss of one output
//   derivative(d)   d value / d output
// and derives from regression_loss<Spec>. It reads a kiln::target_view of the
// network's output shape (any shape), and takes the mean over every output of every
// example, as PyTorch's default reduction='mean'. There is no label to predict:
// kiln::evaluate reports its mean loss, and an accuracy of 0.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/target_view.hpp"

#include <cstddef>
#include <type_traits>

namespace kiln {

namespace error {
template <class Layer, class Got, class Needs>
struct regression_loss_needs_targets {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: a regression loss compares the output with real targets ('Needs'), "
                      "but is given 'Got', labels. Fix: pass the targets as "
                      "kiln::target_view<Shape, T>(targets, batch), Shape the network's output "
                      "shape; for classes use kiln::softmax_cross_entropy.");
    }
};
template <class Layer, class Got, class Needs>
struct targets_do_not_match_the_output {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: the targets have shape 'Got' per example, but the network's last "
                      "layer produces 'Needs'. Fix: make the targets a kiln::target_view of the "
                      "output's shape, or end the network with a layer of the targets' shape.");
    }
};
} // namespace error

namespace detail {
template <class View>
struct target_shape {
    using type = void;
};
template <class Shape, class T>
struct target_shape<target_view<Shape, T>> {
    using type = Shape;
};
} // namespace detail

template <class Spec>
struct regression_loss {
    // Output is the network's output shape; LastLayer names the layer that made it.
    template <class Output, class LastLayer>
    struct bind {
        using broken_rule = no_broken_rule;
        static constexpr bool valid = true;

        // Targets of the output's own shape, in a target_view.
        template <class Targets>
        using labels_rule = first_broken<
            rule<is_target_view<Targets>,
                 error::regression_loss_needs_targets<LastLayer, Targets, target_view<Output>>>,
            rule<std::is_same_v<typename detail::target_shape<Targets>::type, Output> ||
                     !is_target_view<Targets>,
                 error::targets_do_not_match_the_output<
                     LastLayer, typename detail::target_shape<Targets>::type, Output>>>;

        // The mean over batch x Output::size outputs; when gradient is not null, also
        // d loss / d outputs.
        template <class T, class U>
        static T evaluate(const T* outputs, const U* targets, std::size_t batch,
                          T* gradient = nullptr) noexcept {
            const std::size_t count = batch * Output::size;
            const T inverse_count = T{1} / static_cast<T>(count);
            double total = 0;
            for (std::size_t i = 0; i < count; ++i) {
                const T difference = outputs[i] - static_cast<T>(targets[i]);
                total += static_cast<double>(Spec::value(difference));
                if (gradient != nullptr) gradient[i] = Spec::derivative(difference) * inverse_count;
            }
            return static_cast<T>(total / static_cast<double>(count));
        }
    };
};

} // namespace kiln
