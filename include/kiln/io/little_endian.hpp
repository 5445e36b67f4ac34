#pragma once
// Little-endian bytes, whatever the machine: kiln's files store every integer and
// every IEEE 754 float least significant byte first, so that a file written on
// one machine reads the same on any other. byte_reader refuses to read past the
// end of its bytes (std::out_of_range, saying what it was reading).
#include "kiln/core/checked_size.hpp"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace kiln {

static_assert(std::numeric_limits<float>::is_iec559 && std::numeric_limits<double>::is_iec559,
              "kiln's files store IEEE 754 floats");

// The unsigned integer with the same bytes as T.
template <class T>
using bits_of = std::conditional_t<
    sizeof(T) == 1, std::uint8_t,
    std::conditional_t<sizeof(T) == 2, std::uint16_t,
                       std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>>;

template <class T>
concept little_endian_value = (std::is_arithmetic_v<T> && !std::is_same_v<T, bool> &&
                               (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 ||
                                sizeof(T) == 8));

// Appends values, least significant byte first.
class byte_writer {
public:
    template <little_endian_value T>
    void put(T value) {
        auto bits = std::bit_cast<bits_of<T>>(value);
        for (std::size_t i = 0; i < sizeof(T); ++i, bits = static_cast<bits_of<T>>(bits >> 8))
            bytes_.push_back(static_cast<std::byte>(bits & 0xff));
    }
    template <little_endian_value T>
    void put(std::span<const T> values) {
        if constexpr (std::endian::native == std::endian::little) {
            const auto* raw = reinterpret_cast<const std::byte*>(values.data());
            bytes_.insert(bytes_.end(), raw, raw + values.size_bytes());
        } else {
            for (const T value : values)
                put(value);
        }
    }
    void put_bytes(std::span<const std::byte> raw) {
        bytes_.insert(bytes_.end(), raw.begin(), raw.end());
    }
    void put_text(std::string_view text) {
        put_bytes(std::as_bytes(std::span<const char>(text.data(), text.size())));
    }
    // Overwrites a value written before, at byte offset `at`.
    template <little_endian_value T>
    void patch(std::size_t at, T value) {
        byte_writer scratch;
        scratch.put(value);
        std::memcpy(bytes_.data() + at, scratch.bytes_.data(), sizeof(T));
    }

    std::size_t size() const noexcept { return bytes_.size(); }
    std::vector<std::byte>& bytes() noexcept { return bytes_; }

private:
    std::vector<std::byte> bytes_;
};

// Reads values in order; every read checks that the bytes are there.
class byte_reader {
public:
    explicit byte_reader(std::span<const std::byte> bytes) : bytes_(bytes) {}

    template <little_endian_value T>
    T get(std::string_view what) {
        const auto raw = take(sizeof(T), what);
        bits_of<T> bits = 0;
        for (std::size_t i = sizeof(T); i-- > 0;)
            bits = static_cast<bits_of<T>>(bits << 8 | std::to_integer<bits_of<T>>(raw[i]));
        return std::bit_cast<T>(bits);
    }
    // `count` values of size `size`, the product checked (core/checked_size.hpp)
    // before it is compared with what is left: a huge count cannot wrap around.
    std::span<const std::byte> take_array(std::uint64_t count, std::size_t size,
                                          std::string_view what) {
        std::size_t bytes = 0;
        if (count > std::numeric_limits<std::size_t>::max() ||
            !multiply_fits(static_cast<std::size_t>(count), size, bytes) || bytes > remaining())
            throw past_the_end(remaining(), what, count, size);
        return take(bytes, what);
    }
    std::span<const std::byte> take(std::size_t count, std::string_view what) {
        if (count > remaining()) throw past_the_end(remaining(), what, count, 1);
        const auto part = bytes_.subspan(at_, count);
        at_ += count;
        return part;
    }

    std::size_t position() const noexcept { return at_; }
    std::size_t remaining() const noexcept { return bytes_.size() - at_; }

private:
    static std::out_of_range past_the_end(std::size_t left, std::string_view what,
                                          std::uint64_t count, std::size_t size) {
        return std::out_of_range(std::string(what) + " needs " + std::to_string(count) +
                                 (size == 1 ? "" : " x " + std::to_string(size)) + " bytes, only " +
                                 std::to_string(left) + " are left");
    }
    std::span<const std::byte> bytes_;
    std::size_t at_ = 0;
};

// Values of type T from little-endian bytes (as many as fit).
template <little_endian_value T>
void read_little_endian(std::span<const std::byte> raw, std::span<T> out) {
    if (out.empty()) return; // an empty section: memcpy may not be given its null data()
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(out.data(), raw.data(), out.size_bytes());
    } else {
        byte_reader reader(raw);
        for (T& value : out)
            value = reader.get<T>("a value");
    }
}

} // namespace kiln
