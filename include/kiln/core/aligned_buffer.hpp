#pragma once
// One contiguous, zero-initialised, 64-byte-aligned block of scalars. Parameters,
// gradients, optimizer state and activation arenas each live in one of these, so
// that zeroing, an update or a save is one flat loop over memory.
#include "kiln/core/checked_size.hpp"

#include <algorithm>
#include <cstddef>
#include <new>
#include <span>
#include <string_view>
#include <utility>

namespace kiln {

inline constexpr std::size_t cache_line_bytes = 64;

// Slices of a flat buffer start at multiples of this many scalars: a cache line
// of float. Counting in scalars, not bytes, gives float and double models the
// same layout, so converting one to the other is a single flat copy.
inline constexpr std::size_t slice_alignment = cache_line_bytes / sizeof(float);

// Rounds a count up to the next slice boundary.
constexpr std::size_t padded_count(std::size_t count) {
    return (count + slice_alignment - 1) / slice_alignment * slice_alignment;
}

template <class T>
class aligned_buffer {
public:
    aligned_buffer() = default;
    // `what` names the buffer in the size_error that refuses a count whose bytes
    // overflow or exceed the machine's memory (core/checked_size.hpp).
    explicit aligned_buffer(std::size_t count, std::string_view what = "kiln::aligned_buffer")
        : size_(count) {
        if (count == 0) return;
        const std::size_t padded =
            checked_sum(count, slice_alignment - 1, what) / slice_alignment * slice_alignment;
        data_ = static_cast<T*>(
            ::operator new[](checked_bytes<T>(padded, what), std::align_val_t{cache_line_bytes}));
        std::fill_n(data_, padded, T{});
    }
    aligned_buffer(const aligned_buffer& other) : aligned_buffer(other.size_) {
        std::copy_n(other.data_, size_, data_);
    }
    aligned_buffer(aligned_buffer&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
    aligned_buffer& operator=(aligned_buffer other) noexcept {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
        return *this;
    }
    ~aligned_buffer() {
        if (data_) ::operator delete[](data_, std::align_val_t{cache_line_bytes});
    }

    T* data() noexcept { return data_; }
    const T* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    T& operator[](std::size_t i) noexcept { return data_[i]; }
    const T& operator[](std::size_t i) const noexcept { return data_[i]; }
    std::span<T> span() noexcept { return {data_, size_}; }
    std::span<const T> span() const noexcept { return {data_, size_}; }
    void fill(T value) noexcept { std::fill_n(data_, size_, value); }

private:
    T* data_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace kiln
