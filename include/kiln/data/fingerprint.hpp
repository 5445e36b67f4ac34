#pragma once
// kiln::data::fingerprint: what identifies a data set, so that a checkpoint can
// say which data its run read: the example count and a CRC-32 of the inputs and
// of the labels, over their little-endian bytes (the same on any machine). A run
// resumed on other data goes on as another run without a word (the course's MLP,
// resumed on digits instead of clothes, scored 0.003); train/checkpoint.hpp stores
// fingerprints and refuses a resume whose data differ (kiln::expect_same_data).
//
//   const auto train = kiln::data::fingerprint_of(data.train);   // a labeled_set
//
// The whole set is read once, at about 1 GB/s (zlib's CRC-32): 0.07 s for the
// course's Fashion-MNIST split, nothing beside a run worth a checkpoint.
#include "kiln/core/tensor.hpp"
#include "kiln/io/little_endian.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

namespace kiln::data {

struct fingerprint {
    std::uint64_t examples = 0;
    std::uint32_t inputs_crc32 = 0;
    std::uint32_t labels_crc32 = 0;

    bool operator==(const fingerprint&) const = default;

    // "50000 examples, CRC-32 0x1234abcd of the inputs, 0x0badf00d of the labels"
    [[gnu::cold]] std::string text() const {
        char line[128];
        std::snprintf(line, sizeof line,
                      "%llu examples, CRC-32 0x%08x of the inputs, 0x%08x of "
                      "the labels",
                      static_cast<unsigned long long>(examples),
                      static_cast<unsigned>(inputs_crc32), static_cast<unsigned>(labels_crc32));
        return line;
    }
};

namespace detail {
// CRC-32 of values' little-endian bytes.
template <class T>
[[gnu::cold]] std::uint32_t crc32_little_endian(std::span<const T> values) {
    uLong crc = ::crc32_z(0L, Z_NULL, 0);
    if constexpr (std::endian::native == std::endian::little) {
        crc = ::crc32_z(crc, reinterpret_cast<const Bytef*>(values.data()), values.size_bytes());
    } else {
        constexpr std::size_t chunk = 4096;
        for (std::size_t at = 0; at < values.size(); at += chunk) {
            const std::size_t n = std::min(chunk, values.size() - at);
            byte_writer bytes;
            bytes.put(values.subspan(at, n));
            crc = ::crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.bytes().data()),
                            bytes.bytes().size());
        }
    }
    return static_cast<std::uint32_t>(crc);
}
} // namespace detail

template <class Shape, class T, class Labels>
requires is_label_view<Labels>
[[gnu::cold]] fingerprint fingerprint_of(batch_view<Shape, const T> inputs, Labels labels) {
    return {labels.batch(),
            detail::crc32_little_endian(std::span<const T>(inputs.data(), inputs.size())),
            detail::crc32_little_endian(std::span<const label_t>(labels.data(), labels.size()))};
}

// A set with inputs() and labels(): kiln::data::labeled_set, fashion_mnist_set.
template <class Set>
[[gnu::cold]] fingerprint fingerprint_of(const Set& set) {
    return fingerprint_of(set.inputs(), set.labels());
}

} // namespace kiln::data
