#pragma once
// kiln::softmax_cross_entropy: -log softmax(logits)[label], mean over the batch.
// Softmax and cross-entropy are one pass each way: the gradient with respect to
// the logits is (softmax - onehot) / batch, computed without forming the onehot.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/tensor.hpp"
#include "kiln/kernels/simd.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>

namespace kiln {

namespace error {
template <class Layer, class Got, class Needs>
struct labels_do_not_match_the_logits {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: the labels name 'Got' classes but the network's last layer produces "
                      "'Needs' logits per example. Fix: make the last kiln::linear as wide as the "
                      "number of classes, or load labels with that many classes.");
    }
};
template <class Layer, class Got, class Needs>
struct sign_labels_for_a_class_loss {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: the loss reads class indices ('Needs'), but is given 'Got', the "
                      "logistic loss's -1 / +1 labels: a -1 would be read before the logits. "
                      "Fix: pass classes 0, 1, ... as 'Needs', or train a one-score network "
                      "with kiln::logistic.");
    }
};
template <class Layer, class Got, class Needs>
struct labels_per_example_do_not_match {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: the labels hold 'Got' labels per example, but the loss reads "
                      "'Needs' (a sequence loss reads one per position). Fix: make them a "
                      "kiln::label_view<Classes, PerExample> with the loss's count, as "
                      "kiln::label_view<65, 32> for 32 positions, over the same memory.");
    }
};
} // namespace error

// Class counts and labels per example in diagnostics.
template <std::size_t Count>
struct classes {};
template <std::size_t Count>
struct logits {};
template <std::size_t Count>
struct per_example {};

// The rules class labels keep with a loss that reads them as indices into
// Classes logits, PerExample per example: they are class indices (not signs),
// of as many classes as there are logits, as many per example as it reads.
template <class Labels, std::size_t Classes, std::size_t PerExample, class LastLayer>
using class_labels_rule = first_broken<
    rule<!std::is_same_v<Labels, sign_label_view>,
         error::sign_labels_for_a_class_loss<LastLayer, Labels, label_view<Classes, PerExample>>>,
    rule<Labels::classes == Classes, error::labels_do_not_match_the_logits<
                                         LastLayer, classes<Labels::classes>, logits<Classes>>>,
    rule<Labels::labels_per_example == PerExample,
         error::labels_per_example_do_not_match<LastLayer, per_example<Labels::labels_per_example>,
                                                per_example<PerExample>>>>;

struct softmax_cross_entropy {
    static std::string name() { return "softmax_cross_entropy"; }
    // One vector of logits per example; train/loss_rules.hpp explains a network whose
    // output has more axes.
    static constexpr bool reads_one_vector = true;

    // Logits is the network's output shape; LastLayer names the layer that made it.
    template <class Logits, class LastLayer>
    struct bind {
        using broken_rule = no_broken_rule;
        static constexpr bool valid = true;
        static constexpr std::size_t labels_per_example = 1;
        static constexpr std::size_t class_count = last_dim<Logits>;

        template <class Labels>
        using labels_rule = class_labels_rule<Labels, class_count, 1, LastLayer>;

        // Mean loss; when gradient is not null, also d loss / d logits. Each
        // example's e^(z - largest) is taken once, in registers, and serves both the
        // loss and the gradient.
        template <class T>
        static T evaluate(const T* logits, const label_t* labels, std::size_t batch,
                          T* gradient = nullptr) noexcept {
            using vec = simd::vec<T>;
            constexpr std::size_t W = simd::width<T>;
            constexpr std::size_t full = class_count - class_count % W;
            double total = 0;
            const T inverse_batch = T{1} / static_cast<T>(batch);
            alignas(64) T exps[class_count];
            for (std::size_t b = 0; b < batch; ++b) {
                const T* const z = logits + b * class_count;
                const T largest = *std::max_element(z, z + class_count);
                const vec largest_lanes(largest);
                vec sum_lanes(T{0});
                for (std::size_t c = 0; c < full; c += W) {
                    const vec e = simd::exp(simd::load(z + c) - largest_lanes);
                    simd::store(exps + c, e);
                    sum_lanes += e;
                }
                T sum = simd::reduce_add(sum_lanes);
                if constexpr (full != class_count) {
                    constexpr std::size_t rest = class_count - full;
                    simd::store_partial(
                        exps + full, simd::exp(simd::load_partial(z + full, rest) - largest_lanes),
                        rest);
                    for (std::size_t c = full; c < class_count; ++c)
                        sum += exps[c];
                }
                total += static_cast<double>(std::log(sum) + largest - z[labels[b]]);
                if (gradient == nullptr) continue;
                T* const g = gradient + b * class_count;
                simd::scale_into(class_count, inverse_batch / sum, exps, g);
                g[labels[b]] -= inverse_batch;
            }
            return static_cast<T>(total / static_cast<double>(batch));
        }

        // The predicted class of one example: the first largest logit.
        template <class T>
        static std::size_t predict(const T* logits) noexcept {
            return static_cast<std::size_t>(std::max_element(logits, logits + class_count) -
                                            logits);
        }
    };
};

} // namespace kiln
