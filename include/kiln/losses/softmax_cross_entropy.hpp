#pragma once
// kiln::softmax_cross_entropy: -log softmax(logits)[label], mean over the batch.
// Softmax and cross-entropy are one pass each way: the gradient with respect to
// the logits is (softmax - onehot) / batch, computed without forming the onehot.
//
// kiln::softmax_cross_entropy::with_label_smoothing<S> is PyTorch's
// nn.CrossEntropyLoss(label_smoothing=S): the target is 1 - S on the label plus
// S / classes on every class, so the loss is (1 - S) (-log p_label) + S mean_c
// (-log p_c), and the gradient (softmax - target) / batch. S is in [0, 1].
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/names.hpp"
#include "kiln/core/real_constant.hpp"
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
template <class Layer, class Got, class Needs>
struct targets_for_a_class_loss {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Needs>,
                      "kiln: the loss reads class indices ('Needs'), but is given 'Got', "
                      "real-valued targets. Fix: for a regression train with "
                      "kiln::mean_squared_error or kiln::mean_absolute_error; for classes pass "
                      "kiln::label_view<Classes>(labels, batch).");
    }
};
template <class Loss>
struct label_smoothing_out_of_range {
    static void report() {
        static_assert(facts_of_the_error<Loss>,
                      "kiln: the label smoothing in 'Loss' is outside [0, 1] (or not a "
                      "number): it is the share of the target spread over all classes. Fix: "
                      "write a number in [0, 1], as PyTorch's label_smoothing, e.g. "
                      "kiln::softmax_cross_entropy::with_label_smoothing<0.1>.");
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

namespace detail {
// A view's classes and labels per example; 0 for what is no view of labels (targets).
template <class Labels>
inline constexpr std::size_t classes_of = 0;
template <class Labels>
requires is_label_view<Labels>
inline constexpr std::size_t classes_of<Labels> = Labels::classes;
template <class Labels>
inline constexpr std::size_t labels_per_example_of = 0;
template <class Labels>
requires is_label_view<Labels>
inline constexpr std::size_t labels_per_example_of<Labels> = Labels::labels_per_example;
} // namespace detail

// The rules class labels keep with a loss that reads them as indices into
// Classes logits, PerExample per example: they are class indices (not signs, not
// real targets), of as many classes as there are logits, as many per example as
// it reads.
template <class Labels, std::size_t Classes, std::size_t PerExample, class LastLayer>
using class_labels_rule = first_broken<
    rule<!std::is_same_v<Labels, sign_label_view>,
         error::sign_labels_for_a_class_loss<LastLayer, Labels, label_view<Classes, PerExample>>>,
    rule<is_label_view<Labels>,
         error::targets_for_a_class_loss<LastLayer, Labels, label_view<Classes, PerExample>>>,
    rule<!is_label_view<Labels> || detail::classes_of<Labels> == Classes,
         error::labels_do_not_match_the_logits<LastLayer, classes<detail::classes_of<Labels>>,
                                               logits<Classes>>>,
    rule<!is_label_view<Labels> || detail::labels_per_example_of<Labels> == PerExample,
         error::labels_per_example_do_not_match<LastLayer,
                                                per_example<detail::labels_per_example_of<Labels>>,
                                                per_example<PerExample>>>>;

struct softmax_cross_entropy {
    static std::string name() { return "softmax_cross_entropy"; }
    // One vector of logits per example; train/loss_rules.hpp explains a network whose
    // output has more axes.
    static constexpr bool reads_one_vector = true;

    // The same loss against a target smoothed by Smoothing (PyTorch's label_smoothing).
    template <real_constant Smoothing>
    struct with_label_smoothing;

    // Logits is the network's output shape; LastLayer names the layer that made it.
    template <class Logits, class LastLayer>
    struct bind;
};

template <real_constant Smoothing>
struct softmax_cross_entropy::with_label_smoothing {
    static constexpr double smoothing = Smoothing.value();
    static std::string name() {
        return with_number("softmax_cross_entropy::with_label_smoothing<", smoothing, ">");
    }
    static constexpr bool reads_one_vector = true;

    template <class Logits, class LastLayer>
    struct bind {
        using broken_rule =
            first_broken<rule<(smoothing >= 0 && smoothing <= 1),
                              error::label_smoothing_out_of_range<
                                  softmax_cross_entropy::with_label_smoothing<Smoothing>>>>;
        static constexpr bool valid = broken_rule::holds;
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
                const T log_sum = std::log(sum) + largest; // -log p_c = log_sum - z_c
                if constexpr (smoothing == 0) {
                    total += static_cast<double>(log_sum - z[labels[b]]);
                } else {
                    T logit_sum = T{0};
                    for (std::size_t c = 0; c < class_count; ++c)
                        logit_sum += z[c];
                    total += (1 - smoothing) * static_cast<double>(log_sum - z[labels[b]]) +
                             smoothing * static_cast<double>(log_sum - logit_sum / class_count);
                }
                if (gradient == nullptr) continue;
                T* const g = gradient + b * class_count;
                simd::scale_into(class_count, inverse_batch / sum, exps, g);
                if constexpr (smoothing != 0) {
                    const T spread = static_cast<T>(smoothing / class_count) * inverse_batch;
                    for (std::size_t c = 0; c < class_count; ++c)
                        g[c] -= spread;
                }
                g[labels[b]] -= static_cast<T>(1 - smoothing) * inverse_batch;
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

// Without smoothing: the plain loss, with no pass the smoothing adds.
template <class Logits, class LastLayer>
struct softmax_cross_entropy::bind
    : softmax_cross_entropy::with_label_smoothing<0.0>::bind<Logits, LastLayer> {};

} // namespace kiln
