#pragma once
// Sizes computed from what a program is given (a flag, a file's header, a
// checkpoint, a capacity a caller asks for) are computed here, and only here:
// a product or a sum that would wrap around is refused, and so is a block of
// memory larger than the machine has, before anything is allocated. A size that
// wrapped would allocate a small buffer that the code behind it then writes
// past; one larger than memory would end in std::bad_alloc (or, under a
// sanitizer, in an abort) far from the flag that asked for it.
//
// A refusal is a kiln::size_error, one line that names what was being sized:
//   "--batch: 576460752303423488 x 32 is more than a size can hold (2^64 - 1)"
//   "kiln::workspace for 1099511627776 examples needs 4.0 TiB, more than this
//    machine's memory (15.6 GiB)"
#include <fcntl.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kiln {

struct size_error : std::length_error {
    using std::length_error::length_error;
};

// a * b into `product`; false (and `product` unchanged) when it does not fit.
constexpr bool multiply_fits(std::size_t a, std::size_t b, std::size_t& product) noexcept {
    std::size_t result = 0;
    if (__builtin_mul_overflow(a, b, &result)) return false;
    product = result;
    return true;
}
// a + b into `sum`; false (and `sum` unchanged) when it does not fit.
constexpr bool add_fits(std::size_t a, std::size_t b, std::size_t& sum) noexcept {
    std::size_t result = 0;
    if (__builtin_add_overflow(a, b, &result)) return false;
    sum = result;
    return true;
}

// a * b, or a size_error naming `what`.
inline std::size_t checked_product(std::size_t a, std::size_t b, std::string_view what) {
    std::size_t product = 0;
    if (!multiply_fits(a, b, product)) [[unlikely]]
        throw size_error(std::string(what) + ": " + std::to_string(a) + " x " + std::to_string(b) +
                         " is more than a size can hold (2^64 - 1)");
    return product;
}
// a + b, or a size_error naming `what`.
inline std::size_t checked_sum(std::size_t a, std::size_t b, std::string_view what) {
    std::size_t sum = 0;
    if (!add_fits(a, b, sum)) [[unlikely]]
        throw size_error(std::string(what) + ": " + std::to_string(a) + " + " + std::to_string(b) +
                         " is more than a size can hold (2^64 - 1)");
    return sum;
}

namespace detail {
// A cgroup (v2) memory limit, when the process runs under one; 0 when none.
[[gnu::cold]] inline std::uint64_t cgroup_memory_limit() {
    const int fd = ::open("/sys/fs/cgroup/memory.max", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char text[32] = {};
    const ::ssize_t n = ::read(fd, text, sizeof text - 1);
    ::close(fd);
    if (n <= 0 || text[0] < '0' || text[0] > '9') return 0; // "max": no limit
    return std::strtoull(text, nullptr, 10);
}
} // namespace detail

// The most memory this process could be given: RAM and swap, or a cgroup's
// limit when lower. A block larger than this can never be allocated.
[[gnu::cold]] inline std::uint64_t machine_memory_bytes() {
    static const std::uint64_t bytes = [] {
        struct sysinfo info {};
        std::uint64_t total = std::numeric_limits<std::uint64_t>::max();
        if (::sysinfo(&info) == 0) {
            const auto unit = static_cast<std::uint64_t>(info.mem_unit ? info.mem_unit : 1);
            total = (static_cast<std::uint64_t>(info.totalram) +
                     static_cast<std::uint64_t>(info.totalswap)) *
                    unit;
        }
        const std::uint64_t limit = detail::cgroup_memory_limit();
        return limit != 0 && limit < total ? limit : total;
    }();
    return bytes;
}

// "4.0 TiB", "15.6 GiB", "512 bytes".
[[gnu::cold]] inline std::string bytes_text(double bytes) {
    const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    std::size_t unit = 0;
    while (bytes >= 1024 && unit + 1 < std::size(units)) {
        bytes /= 1024;
        ++unit;
    }
    char text[48];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
    return text;
}

// Refuses `bytes` of memory when the machine has less, naming `what`.
inline std::size_t check_fits_in_memory(std::size_t bytes, std::string_view what) {
    if (bytes > machine_memory_bytes()) [[unlikely]]
        throw size_error(std::string(what) + " needs " + bytes_text(static_cast<double>(bytes)) +
                         ", more than this machine's memory (" +
                         bytes_text(static_cast<double>(machine_memory_bytes())) + ")");
    return bytes;
}

// The bytes of `count` values of T, refused when they overflow or exceed the
// machine's memory; `what` names what they are for.
template <class T>
std::size_t checked_bytes(std::size_t count, std::string_view what) {
    std::size_t bytes = 0;
    if (!multiply_fits(count, sizeof(T), bytes)) [[unlikely]]
        throw size_error(std::string(what) + ": " + std::to_string(count) + " x " +
                         std::to_string(sizeof(T)) +
                         " bytes is more than a size can hold (2^64 - 1)");
    return check_fits_in_memory(bytes, what);
}

// `count`, once its values of T are known to fit (checked_bytes): for a
// container that takes a count.
template <class T>
std::size_t checked_count(std::size_t count, std::string_view what) {
    (void)checked_bytes<T>(count, what);
    return count;
}

} // namespace kiln
