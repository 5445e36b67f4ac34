#pragma once
// Views of a batch: a pointer, a runtime batch count, and the shape of one example
// in the type. Passing a view to a model is where the compiler compares shapes.
#include "kiln/core/checked_size.hpp"
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

// A label outside what its view holds (a class in [0, Classes), or -1 / +1 for
// the logistic loss). A loss indexes its logits by the label, with no check
// inside a training step, so such a label is refused where labels enter: when a
// view is made over a caller's memory, by a labeled set, by shuffled_batches, by
// evaluate (train/check_labels.hpp). One line that names the example (and, for a
// sequence, the position).
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

namespace detail {
// Label `index` of a run of `per_example` labels per example, refused: a
// label_error naming its example, and its position when an example has several.
[[noreturn, gnu::cold]] inline void refuse_label(std::string_view where, label_t label,
                                                 std::size_t index, std::size_t per_example,
                                                 std::string accepted) {
    if (per_example > 1)
        accepted += " (it is at position " + std::to_string(index % per_example) +
                    " of the example's " + std::to_string(per_example) + ")";
    throw label_error(where, label, index / per_example, accepted);
}

// Checks every label a view of `batch` examples holds (View::labels_per_example
// apiece), the first one it does not accept refused.
template <class View>
void check_view_labels(const label_t* data, std::size_t batch) {
    std::size_t count = 0;
    if (!multiply_fits(batch, View::labels_per_example, count)) [[unlikely]]
        throw size_error(View::name() + ": " + std::to_string(batch) + " examples of " +
                         std::to_string(View::labels_per_example) +
                         " labels each is more than memory can hold");
    for (std::size_t i = 0; i < count; ++i)
        if (!View::accepts(data[i])) [[unlikely]]
            refuse_label(View::name(), data[i], i, View::labels_per_example, View::accepted());
}

// What a view of labels is, whatever kind of label it holds: a pointer, a count
// of examples, PerExample labels apiece, and the check of every one when made
// over a caller's memory. View (label_view, sign_label_view) says what a label
// may be: accepts(label), accepted() and name() for messages.
template <class View, std::size_t PerExample>
class label_memory {
    static_assert(PerExample > 0, "kiln::label_view<Classes, PerExample>: an example has at "
                                  "least one label");

public:
    static constexpr std::size_t labels_per_example = PerExample;

    constexpr label_memory() = default;
    // Over a caller's memory: batch x PerExample labels, each checked (once, here).
    label_memory(const label_t* data, std::size_t batch) : data_(data), batch_(batch) {
        check_view_labels<View>(data, batch);
    }
    constexpr label_memory(const label_t* data, std::size_t batch, labels_checked_t) noexcept
        : data_(data), batch_(batch) {}

    constexpr const label_t* data() const noexcept { return data_; }
    // Examples, each with PerExample labels.
    constexpr std::size_t batch() const noexcept { return batch_; }
    // Labels: batch() x PerExample.
    constexpr std::size_t size() const noexcept { return batch_ * PerExample; }
    // Label i, example after example.
    constexpr label_t operator[](std::size_t i) const noexcept { return data_[i]; }
    // The labels of examples [first, first + count).
    constexpr View rows(std::size_t first, std::size_t count) const noexcept {
        return View(data_ + first * PerExample, count, labels_checked);
    }

private:
    const label_t* data_ = nullptr;
    std::size_t batch_ = 0;
};
} // namespace detail

// Class labels in [0, Classes), PerExample per example (one per position of a
// sequence), example after example. Both numbers are in the type, so that a loss
// checks them against its logits at compile time; every value is checked when a
// view is made over a caller's memory, so that no loss is handed a label it
// would read past its logits (a label_error names the first bad one). The
// logistic loss's -1 / +1 are another kind of label: kiln::sign_label_view.
template <std::size_t Classes, std::size_t PerExample = 1>
class label_view : public detail::label_memory<label_view<Classes, PerExample>, PerExample> {
public:
    using detail::label_memory<label_view, PerExample>::label_memory;
    static constexpr std::size_t classes = Classes;

    static constexpr bool accepts(label_t label) noexcept { return is_class_label<Classes>(label); }
    [[gnu::cold]] static std::string accepted() { return class_labels_text(Classes); }
    [[gnu::cold]] static std::string name() {
        return "kiln::label_view<" + std::to_string(Classes) +
               (PerExample > 1 ? ", " + std::to_string(PerExample) : std::string()) + ">";
    }
};

// The logistic loss's labels, -1 and +1, one per example. A kind of its own: a
// loss that reads class indices would read a -1 before its logits, so handing it
// these labels (or handing the logistic loss class labels) does not compile.
class sign_label_view : public detail::label_memory<sign_label_view, 1> {
public:
    using label_memory::label_memory;
    static constexpr std::size_t classes = 2;

    // -1 and +1 only: a 0 (as from 0/1 labels) would make every margin 0, silently.
    static constexpr bool accepts(label_t label) noexcept { return label == -1 || label == 1; }
    [[gnu::cold]] static std::string accepted() { return "-1 or +1 (the logistic loss's labels)"; }
    [[gnu::cold]] static std::string name() { return "kiln::sign_label_view"; }
};

// A view of labels: kiln::label_view or kiln::sign_label_view.
template <class View>
inline constexpr bool is_label_view = false;
template <std::size_t Classes, std::size_t PerExample>
inline constexpr bool is_label_view<label_view<Classes, PerExample>> = true;
template <>
inline constexpr bool is_label_view<sign_label_view> = true;

} // namespace kiln
