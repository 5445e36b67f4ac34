#pragma once
// kiln::data::labeled_set: N examples of one shape with their class labels, each
// kind in one contiguous block, ready to be viewed as a batch or gathered into one.
// Labels are class indices in [0, Classes); whoever fills the set writes them
// through mutable_labels(), so they are checked where they leave it, by labels()
// and gather(): a label out of range is a kiln::label_error naming the example.
#include "kiln/core/aligned_buffer.hpp"
#include "kiln/core/checked_size.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/tensor.hpp"

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln::data {

template <class Shape, std::size_t Classes, class T = float>
class labeled_set {
    static_assert(is_shape<Shape>, "kiln::data::labeled_set: Shape must be a kiln::shape<...>");
    static_assert(!Shape::has_zero_dim && Shape::rank > 0,
                  "kiln::data::labeled_set: an example must hold at least one scalar");
    static_assert(Classes > 0, "kiln::data::labeled_set: there must be at least one class");

public:
    using shape_type = Shape;
    using value_type = T;
    static constexpr std::size_t classes = Classes;

    labeled_set() = default;
    // `count` examples, zero-filled with label 0, to be filled through the mutable views.
    explicit labeled_set(std::size_t count)
        : inputs_(checked_product(count, Shape::size, sized(count)), sized(count)),
          labels_(checked_count<label_t>(count, sized(count))) {}

    std::size_t size() const noexcept { return labels_.size(); }
    bool empty() const noexcept { return labels_.empty(); }

    batch_view<Shape, const T> inputs() const noexcept { return {inputs_.data(), size()}; }
    // The labels, each checked to be a class (one pass: the set may have been
    // filled since the last call).
    label_view<Classes> labels() const {
        for (std::size_t n = 0; n < size(); ++n)
            check_label(n);
        return {labels_.data(), size(), labels_checked};
    }

    // For whoever builds the set; labels must stay in [0, Classes).
    batch_view<Shape, T> mutable_inputs() noexcept { return {inputs_.data(), size()}; }
    std::span<label_t> mutable_labels() noexcept { return labels_; }

    // Copies examples indices[0], indices[1], ... into rows 0, 1, ... of the caller's
    // staging memory: how a shuffled mini-batch is assembled. Allocates nothing.
    void gather(std::span<const std::size_t> indices, batch_view<Shape, T> inputs_out,
                label_t* labels_out) const {
        if (inputs_out.batch() < indices.size())
            throw std::invalid_argument("labeled_set::gather: " + std::to_string(indices.size()) +
                                        " indices but room for " +
                                        std::to_string(inputs_out.batch()) + " examples");
        for (std::size_t row = 0; row < indices.size(); ++row) {
            const std::size_t index = indices[row];
            if (index >= size())
                throw std::out_of_range("labeled_set::gather: index " + std::to_string(index) +
                                        " in a set of " + std::to_string(size()));
            check_label(index);
            std::copy_n(inputs_.data() + index * Shape::size, Shape::size,
                        inputs_out.data() + row * Shape::size);
            labels_out[row] = labels_[index];
        }
    }

    // A new set of the chosen examples, in the order given.
    labeled_set subset(std::span<const std::size_t> indices) const {
        labeled_set result(indices.size());
        gather(indices, result.mutable_inputs(), result.labels_.data());
        return result;
    }

private:
    [[gnu::cold]] static std::string sized(std::size_t count) {
        return "kiln::data::labeled_set of " + std::to_string(count) + " examples";
    }
    void check_label(std::size_t n) const {
        if (!is_class_label<Classes>(labels_[n])) [[unlikely]]
            throw label_error("kiln::data::labeled_set", labels_[n], n, class_labels_text(Classes));
    }

    aligned_buffer<T> inputs_;
    std::vector<label_t> labels_;
};

} // namespace kiln::data
