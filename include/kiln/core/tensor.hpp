#pragma once
// Views of a batch: a pointer, a runtime batch count, and the shape of one example
// in the type. Passing a view to a model is where the compiler compares shapes.
#include "kiln/core/shape.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
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

// Class labels in [0, Classes), one per example. The class count is in the type so
// that a loss can check it against the width of the logits at compile time.
template <std::size_t Classes>
class label_view {
public:
    static constexpr std::size_t classes = Classes;
    constexpr label_view() = default;
    constexpr label_view(const label_t* data, std::size_t batch) noexcept
        : data_(data), batch_(batch) {}
    constexpr const label_t* data() const noexcept { return data_; }
    constexpr std::size_t batch() const noexcept { return batch_; }
    constexpr label_t operator[](std::size_t b) const noexcept { return data_[b]; }
    constexpr label_view rows(std::size_t first, std::size_t count) const noexcept {
        return {data_ + first, count};
    }

private:
    const label_t* data_ = nullptr;
    std::size_t batch_ = 0;
};

} // namespace kiln
