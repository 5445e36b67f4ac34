#pragma once
// Labels checked where they enter evaluation (evaluate, kiln::evaluator), never
// inside a training step. What a loss reads is in the view's type (class
// indices or -1 / +1 signs, and how many per example), which the loss checks at
// compile time; every value is checked when a view is made over a caller's
// memory (core/tensor.hpp). A view made with kiln::labels_checked is the
// caller's word: an evaluation, which is no step, looks at its values once more.
// A regression's real targets (kiln::target_view) are checked the same way: their
// shape by the loss at compile time, their values finite.
#include "kiln/core/target_view.hpp"
#include "kiln/core/tensor.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kiln {

// Refuses fewer labels (or targets) than examples, which a loss would read past.
template <class Labels>
requires is_label_or_target_view<Labels>
void require_labels_for(std::size_t examples, Labels labels, std::string_view where) {
    if (labels.batch() < examples) [[unlikely]]
        throw std::length_error(std::string(where) + ": " + std::to_string(examples) +
                                " examples but labels for " + std::to_string(labels.batch()));
}

// Checks the labels of `examples` examples (Labels::labels_per_example each):
// the first the view does not hold is a label_error naming the example (and
// the position, for a sequence). Targets: the first that is not finite is a
// target_error naming the example.
template <class Labels>
requires is_label_or_target_view<Labels>
void check_labels(Labels labels, std::size_t examples, std::string_view where) {
    require_labels_for(examples, labels, where);
    if constexpr (is_target_view<Labels>) {
        detail::check_targets_finite(where, labels.data(), examples * Labels::targets_per_example,
                                     Labels::targets_per_example);
    } else {
        constexpr std::size_t per_example = Labels::labels_per_example;
        for (std::size_t i = 0; i < examples * per_example; ++i)
            if (!Labels::accepts(labels[i])) [[unlikely]]
                detail::refuse_label(where, labels[i], i, per_example, Labels::accepted());
    }
}

} // namespace kiln
