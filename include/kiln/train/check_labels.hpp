#pragma once
// Labels checked against the loss that reads them, where they enter (evaluate,
// kiln::evaluator), never inside a training step: a loss indexes its logits by
// the label, so a label outside the network's classes would read past them.
// A label_view checks its values when it is made over a caller's memory
// (core/tensor.hpp), but only the loss knows which values it reads (a class
// index, or -1 / +1 for the logistic loss) and how many (a sequence loss reads
// one per position).
#include "kiln/core/checked_size.hpp"
#include "kiln/core/tensor.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kiln {

// Refuses fewer labels than examples, which a loss would read past.
template <std::size_t Classes>
void require_labels_for(std::size_t examples, label_view<Classes> labels, std::string_view where) {
    if (labels.batch() < examples) [[unlikely]]
        throw std::length_error(std::string(where) + ": " + std::to_string(examples) +
                                " examples but labels for " + std::to_string(labels.batch()));
}

// Whether a bound loss reads `label`: its own rule (accepts_label), or a class index.
template <class LossType>
constexpr bool loss_accepts(label_t label) noexcept {
    if constexpr (requires { LossType::accepts_label(label); })
        return LossType::accepts_label(label);
    else
        return is_class_label<LossType::class_count>(label);
}

// Checks the labels of `examples` examples (labels_per_example each) for the
// loss LossType; the first it does not read is a label_error naming the example
// (and the position, for a sequence).
template <class LossType, std::size_t Classes>
void check_labels(label_view<Classes> labels, std::size_t examples, std::string_view where) {
    require_labels_for(examples, labels, where);
    constexpr std::size_t per_example = LossType::labels_per_example;
    const label_t* const values = labels.data();
    const std::size_t count = checked_product(examples, per_example, where);
    for (std::size_t i = 0; i < count; ++i)
        if (!loss_accepts<LossType>(values[i])) [[unlikely]] {
            std::string accepted;
            if constexpr (requires { LossType::accepted_labels(); })
                accepted = LossType::accepted_labels();
            else
                accepted = class_labels_text(LossType::class_count);
            if (per_example > 1)
                accepted += " (it is at position " + std::to_string(i % per_example) +
                            " of the example's " + std::to_string(per_example) + ")";
            throw label_error(where, values[i], i / per_example, accepted);
        }
}

} // namespace kiln
