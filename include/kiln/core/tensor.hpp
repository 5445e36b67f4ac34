#pragma once
// Views of a batch: a pointer, a runtime batch count, and the shape of one example
// in the type. Passing a view to a model is where the compiler compares shapes.
#include "kiln/core/shape.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace kiln {

// `batch` examples of shape Shape, stored one after another (row-major).
template <class Shape, class T>
class batch_view {
    static_assert(is_shape<Shape>, "kiln::batch_view<Shape, T>: Shape must be a kiln::shape<...>");

public:
    using shape_type = Shape;
    using value_type = std::remove_const_t<T>;
    static constexpr std::size_t example_size = Shape::size;

    constexpr batch_view() = default;
    constexpr batch_view(T* data, std::size_t batch) noexcept : data_(data), batch_(batch) {}
    // A mutable view converts to a read-only one.
    template <class U>
    requires(std::is_same_v<const U, T> &&
             !std::is_same_v<U, T>) constexpr batch_view(batch_view<Shape, U> other) noexcept
        : data_(other.data()), batch_(other.batch()) {}

    constexpr T* data() const noexcept { return data_; }
    constexpr std::size_t batch() const noexcept { return batch_; }
    constexpr std::size_t size() const noexcept { return batch_ * Shape::size; }
    // Example b as a flat span of Shape::size scalars.
    constexpr std::span<T, Shape::size> operator[](std::size_t b) const noexcept {
        return std::span<T, Shape::size>(data_ + b * Shape::size, Shape::size);
    }
    // Examples [first, first + count).
    constexpr batch_view rows(std::size_t first, std::size_t count) const noexcept {
        return {data_ + first * Shape::size, count};
    }
    // The same memory seen with another shape of the same size.
    template <class Other>
    constexpr batch_view<Other, T> as() const noexcept {
        static_assert(Other::size == Shape::size,
                      "kiln::batch_view::as<Shape>(): the new shape must hold as many scalars "
                      "per example as the old one");
        return {data_, batch_};
    }

private:
    T* data_ = nullptr;
    std::size_t batch_ = 0;
};

using label_t = std::int32_t;

// A label outside what its reader accepts (a class in [0, Classes), or -1 / +1
// for the logistic loss). A loss indexes its logits by the label, with no check
// inside a training step, so such a label is refused where labels enter: when a
// label_view is made over a caller's memory, by a labeled set, by
// shuffled_batches, by evaluate (train/check_labels.hpp). One line that names
// the example.
struct label_error : std::invalid_argument {
    label_error(std::string_view where, label_t label, std::size_t example,
                std::string_view accepted)
        : std::invalid_argument(std::string(where) + ": label " + std::to_string(label) +
                                " of example " + std::to_string(example) + " is not " +
                                std::string(accepted)),
          label_(label), example_(example) {}
    label_t label() const noexcept { return label_; }
    std::size_t example() const noexcept { return example_; }

private:
    label_t label_;
    std::size_t example_;
};

// Whether `label` is one of Classes classes: an index in [0, Classes).
template <std::size_t Classes>
constexpr bool is_class_label(label_t label) noexcept {
    return label >= 0 && static_cast<std::size_t>(label) < Classes;
}
// "a class in 0..9", for messages.
[[gnu::cold]] inline std::string class_labels_text(std::size_t classes) {
    return classes == 1 ? std::string("class 0 (the only class)")
                        : "a class in 0.." + std::to_string(classes - 1);
}

// Says, when made over labels that are already known to be good (a checked set,
// a view's rows, kiln's own staging), that the view need not look at them again.
struct labels_checked_t {
    explicit labels_checked_t() = default;
};
inline constexpr labels_checked_t labels_checked{};

// Class labels in [0, Classes), one per example. The class count is in the type so
// that a loss can check it against the width of the logits at compile time; the
// values are checked when a view is made over a caller's memory (a label_error
// names the first bad one). Two classes also accept -1, the logistic loss's
// negative label: a class-index loss refuses it in evaluate and shuffled_batches,
// which know the loss. A sequence loss reads `batch` x positions labels, more
// than the view knows of: evaluate and evaluator check them all.
template <std::size_t Classes>
class label_view {
public:
    static constexpr std::size_t classes = Classes;
    constexpr label_view() = default;
    constexpr label_view(const label_t* data, std::size_t batch) : data_(data), batch_(batch) {
        for (std::size_t b = 0; b < batch; ++b)
            if (!accepts(data[b])) [[unlikely]]
                refuse(b);
    }
    constexpr label_view(const label_t* data, std::size_t batch, labels_checked_t) noexcept
        : data_(data), batch_(batch) {}
    constexpr const label_t* data() const noexcept { return data_; }
    constexpr std::size_t batch() const noexcept { return batch_; }
    constexpr label_t operator[](std::size_t b) const noexcept { return data_[b]; }
    constexpr label_view rows(std::size_t first, std::size_t count) const noexcept {
        return {data_ + first, count, labels_checked};
    }

    // A label some loss of Classes classes reads: a class, or -1 for two classes.
    static constexpr bool accepts(label_t label) noexcept {
        return is_class_label<Classes>(label) || (Classes == 2 && label == -1);
    }

private:
    [[noreturn, gnu::cold]] void refuse(std::size_t example) const {
        throw label_error("kiln::label_view<" + std::to_string(Classes) + ">", data_[example],
                          example, class_labels_text(Classes) + (Classes == 2 ? " (nor -1)" : ""));
    }

    const label_t* data_ = nullptr;
    std::size_t batch_ = 0;
};

} // namespace kiln
