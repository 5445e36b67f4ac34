#pragma once
// kiln::target_view<Shape, T>: the real-valued targets a regression loss compares
// the network's output with, one example of shape Shape after another. The shape is
// in the type, so that a loss checks it against the network's output at compile
// time; every value is checked finite when a view is made over a caller's memory,
// so that no step is handed a NaN or an infinity it would spread through the
// weights (a target_error names the first bad one). The check is once, there:
// a training step looks at no value.
#include "kiln/core/checked_size.hpp"
#include "kiln/core/names.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/tensor.hpp"

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace kiln {

// A target that is not a finite number, refused where targets enter: one line
// that names the example (and the position in it, when an example has several).
struct target_error : std::invalid_argument {
    target_error(std::string_view where, double target, std::size_t example, std::size_t position,
                 std::size_t per_example)
        : std::invalid_argument(std::string(where) + ": target " + with_number("", target, "") +
                                " of example " + std::to_string(example) +
                                (per_example > 1
                                     ? " (at position " + std::to_string(position) +
                                           " of the example's " + std::to_string(per_example) + ")"
                                     : std::string()) +
                                " is not a finite number"),
          example_(example) {}
    std::size_t example() const noexcept { return example_; }

private:
    std::size_t example_;
};

// Says, when made over targets already known to be finite (a view's rows, kiln's
// own staging), that the view need not look at them again.
struct targets_checked_t {
    explicit targets_checked_t() = default;
};
inline constexpr targets_checked_t targets_checked{};

namespace detail {
// The first of `count` targets that is not finite, refused as target `index`.
template <class T>
void check_targets_finite(std::string_view where, const T* data, std::size_t count,
                          std::size_t per_example) {
    for (std::size_t i = 0; i < count; ++i)
        if (!std::isfinite(data[i])) [[unlikely]]
            throw target_error(where, static_cast<double>(data[i]), i / per_example,
                               i % per_example, per_example);
}
} // namespace detail

template <class Shape, class T = float>
class target_view {
    static_assert(is_shape<Shape>, "kiln::target_view<Shape, T>: Shape must be a kiln::shape<...>");
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "kiln::target_view<Shape, T>: targets are real numbers (float or double)");

public:
    using shape_type = Shape;
    using value_type = T;
    static constexpr std::size_t targets_per_example = Shape::size;

    constexpr target_view() = default;
    // Over a caller's memory: batch examples of Shape::size targets, each checked
    // finite (once, here).
    target_view(const T* data, std::size_t batch) : data_(data), batch_(batch) {
        std::size_t count = 0;
        if (!multiply_fits(batch, Shape::size, count)) [[unlikely]]
            throw size_error(name() + ": " + std::to_string(batch) + " examples of " +
                             std::to_string(Shape::size) +
                             " targets each is more than memory can hold");
        detail::check_targets_finite(name(), data, count, Shape::size);
    }
    constexpr target_view(const T* data, std::size_t batch, targets_checked_t) noexcept
        : data_(data), batch_(batch) {}

    constexpr const T* data() const noexcept { return data_; }
    constexpr std::size_t batch() const noexcept { return batch_; }
    // Targets: batch() x Shape::size.
    constexpr std::size_t size() const noexcept { return batch_ * Shape::size; }
    constexpr T operator[](std::size_t i) const noexcept { return data_[i]; }
    // The targets of examples [first, first + count).
    constexpr target_view rows(std::size_t first, std::size_t count) const noexcept {
        return {data_ + first * Shape::size, count, targets_checked};
    }

    [[gnu::cold]] static std::string name() {
        return "kiln::target_view<shape<" + Shape::dims_string() + ">, " +
               (std::is_same_v<T, float> ? "float" : "double") + ">";
    }

private:
    const T* data_ = nullptr;
    std::size_t batch_ = 0;
};

template <class View>
inline constexpr bool is_target_view = false;
template <class Shape, class T>
inline constexpr bool is_target_view<target_view<Shape, T>> = true;

// What a loss compares the network's output with: class labels, signs or targets.
template <class View>
inline constexpr bool is_label_or_target_view = is_label_view<View> || is_target_view<View>;

} // namespace kiln
