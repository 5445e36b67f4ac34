#pragma once
// The data caches of the machine a program runs on: L1d and L2 per core, read once
// from Linux's sysfs (/sys/devices/system/cpu/cpu0/cache), else from glibc's
// sysconf, else assumed (32 KiB and 1 MiB, and said so). KILN_L1D_BYTES and
// KILN_L2_BYTES override what was read (for experiments, and for machines that
// report their caches wrong); a value that is not a size is refused in one line.
#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace kiln::kernels {

struct cache_sizes {
    std::size_t l1d_bytes = 0;
    std::size_t l2_bytes = 0;
    const char* source = "assumed"; // "sysfs", "sysconf", "assumed"; "KILN_*" when set
};

namespace detail {
// "48K", "2048K", "1M" or a plain byte count, as sysfs writes sizes; 0 if not one.
[[gnu::cold]] inline std::size_t parse_size(const std::string& text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
        ++digits;
    if (digits == 0 || digits > 12) return 0;
    std::size_t value = std::stoull(text.substr(0, digits));
    const std::string unit = text.substr(digits);
    if (unit == "K" || unit == "KB" || unit == "k") return value << 10;
    if (unit == "M" || unit == "MB") return value << 20;
    if (unit.empty() || unit == "\n") return value;
    return 0;
}

[[gnu::cold]] inline std::string first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// The data or unified caches of cpu0 at levels 1 and 2, as Linux describes them.
[[gnu::cold]] inline cache_sizes from_sysfs() {
    cache_sizes found;
    for (int index = 0; index < 8; ++index) {
        const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
        const std::string level = first_line(dir + "/level");
        const std::string type = first_line(dir + "/type");
        if (level.empty()) continue;
        if (type != "Data" && type != "Unified") continue;
        const std::size_t bytes = parse_size(first_line(dir + "/size"));
        if (level == "1") found.l1d_bytes = bytes;
        if (level == "2") found.l2_bytes = bytes;
    }
    found.source = "sysfs";
    return found;
}

// KILN_L1D_BYTES=49152, KILN_L2_BYTES=2M: at least 4 KiB and at most 1 GiB.
[[gnu::cold]] inline void override_from(const char* variable, std::size_t& bytes,
                                        const char*& source) {
    const char* text = std::getenv(variable);
    if (text == nullptr) return;
    const std::size_t value = parse_size(text);
    if (value < (std::size_t{4} << 10) || value > (std::size_t{1} << 30))
        throw std::invalid_argument(std::string("kiln: ") + variable + "='" + text +
                                    "' is not a cache size: give bytes (49152) or K/M (48K, "
                                    "2M), from 4K to 1024M");
    bytes = value;
    source = variable;
}
} // namespace detail

// What the caches are, found again on every call: use caches_in_use().
[[gnu::cold]] inline cache_sizes detect_caches() {
    cache_sizes found = detail::from_sysfs();
    if (found.l1d_bytes == 0 || found.l2_bytes == 0) {
        const long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
        found = {l1 > 0 ? static_cast<std::size_t>(l1) : 0,
                 l2 > 0 ? static_cast<std::size_t>(l2) : 0, "sysconf"};
    }
    if (found.l1d_bytes == 0 || found.l2_bytes == 0)
        found = {std::size_t{32} << 10, std::size_t{1} << 20, "assumed"};
    detail::override_from("KILN_L1D_BYTES", found.l1d_bytes, found.source);
    detail::override_from("KILN_L2_BYTES", found.l2_bytes, found.source);
    return found;
}

} // namespace kiln::kernels
