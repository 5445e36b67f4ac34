#pragma once
// kiln::binary_cross_entropy_with_logits: for every output z with its label y in
// {0, 1}, -y log sigma(z) - (1 - y) log(1 - sigma(z)), mean over every output of
// every example, as PyTorch's nn.BCEWithLogitsLoss(): one independent yes/no per
// output, for multi-label classification, on a network output of any shape. The
// labels are one per output, 0 or 1, in a kiln::label_view<2, Outputs>. Written as
// max(z, 0) - z y + log(1 + e^-|z|), which neither overflows nor loses the
// small side; the gradient is (sigma(z) - y) / outputs.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>

namespace kiln {

namespace error {
template <class Layer, class Got, class Needs>
struct binary_cross_entropy_needs_a_label_per_output {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: binary_cross_entropy_with_logits reads one label, 0 or 1, per "
                      "output ('Needs'), but is given 'Got'. Fix: write a 0 or 1 for every "
                      "output of every example and pass them as kiln::label_view<2, N>(labels, "
                      "batch), N the outputs per example.");
    }
};
} // namespace error

struct binary_cross_entropy_with_logits {
    static std::string name() { return "binary_cross_entropy_with_logits"; }

    // Logits is the network's output shape; LastLayer names the layer that made it.
    template <class Logits, class LastLayer>
    struct bind {
        using broken_rule = no_broken_rule;
        static constexpr bool valid = true;
        // A label per output, each predicted from its one logit.
        static constexpr std::size_t labels_per_example = Logits::size;
        using labels_type = label_view<2, Logits::size>;

        template <class Labels>
        using labels_rule = rule<
            std::is_same_v<Labels, labels_type>,
            error::binary_cross_entropy_needs_a_label_per_output<LastLayer, Labels, labels_type>>;

        // The predicted label of one output: 1 where its logit is positive.
        template <class T>
        static label_t predict(const T* logit) noexcept {
            return *logit > T{0} ? 1 : 0;
        }

        // Mean loss over batch x outputs; when gradient is not null, also d loss / d logits.
        template <class T>
        static T evaluate(const T* logits, const label_t* labels, std::size_t batch,
                          T* gradient = nullptr) noexcept {
            const std::size_t count = batch * Logits::size;
            const T inverse_count = T{1} / static_cast<T>(count);
            double total = 0;
            for (std::size_t i = 0; i < count; ++i) {
                const T z = logits[i];
                const T y = static_cast<T>(labels[i]);
                const T e = std::exp(-std::abs(z)); // in (0, 1]: never overflows
                total += static_cast<double>(std::max(z, T{0}) - z * y + std::log1p(e));
                if (gradient == nullptr) continue;
                // sigma(z), from the side where exp cannot overflow.
                const T sigma = z >= T{0} ? T{1} / (T{1} + e) : e / (T{1} + e);
                gradient[i] = (sigma - y) * inverse_count;
            }
            return static_cast<T>(total / static_cast<double>(count));
        }
    };
};

} // namespace kiln
