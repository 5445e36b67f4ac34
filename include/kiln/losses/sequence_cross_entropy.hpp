#pragma once
// kiln::sequence_cross_entropy: softmax cross-entropy at every position of a
// sequence of logits (shape positions x classes), mean over all batch x positions,
// as the course's F.cross_entropy(logits.view(B*T, C), targets.view(B*T)). The
// labels are one per position: batch x positions of them, example by example, in
// a kiln::label_view<Classes, Positions>.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/losses/softmax_cross_entropy.hpp"

#include <cstddef>
#include <string>

namespace kiln {

namespace error {
template <class Layer, class Got>
struct sequence_loss_needs_a_sequence_of_logits {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got>,
                      "kiln: sequence_cross_entropy needs logits for every position (shape "
                      "positions x classes), but the network's last layer produces shape 'Got'. "
                      "Fix: use kiln::softmax_cross_entropy for one vector per example.");
    }
};
} // namespace error

struct sequence_cross_entropy {
    static std::string name() { return "sequence_cross_entropy"; }

    template <class Logits, class LastLayer>
    struct bind {
        // The rules the loss states (core/diagnostics.hpp); the trainer reports them.
        using broken_rule =
            first_broken<rule<Logits::rank == 2,
                              error::sequence_loss_needs_a_sequence_of_logits<LastLayer, Logits>>>;
        static constexpr bool valid = broken_rule::holds;
        static constexpr std::size_t positions = Logits::size / last_dim<Logits>;
        static constexpr std::size_t class_count = last_dim<Logits>;
        // A label per position: an example of B positions has B labels.
        static constexpr std::size_t labels_per_example = positions;
        // Each position is one example of the plain loss.
        using per_position = softmax_cross_entropy::bind<shape<class_count>, LastLayer>;

        // Labels made as kiln::label_view<Classes, positions>.
        template <class Labels>
        using labels_rule = class_labels_rule<Labels, class_count, positions, LastLayer>;

        // Mean loss over batch x positions; when gradient is not null, also d loss / d logits.
        template <class T>
        static T evaluate(const T* logits, const label_t* labels, std::size_t batch,
                          T* gradient = nullptr) noexcept {
            return per_position::evaluate(logits, labels, batch * positions, gradient);
        }

        // The predicted class at one position, given that position's logits.
        template <class T>
        static std::size_t predict(const T* logits) noexcept {
            return per_position::predict(logits);
        }
    };
};

} // namespace kiln
