#pragma once
// Reading IDX files, the format of LeCun's MNIST and of Fashion-MNIST:
//   two zero bytes, a type byte, a rank byte (the magic number);
//   rank big-endian uint32 dimensions;
//   the data, row-major.
// The file may be gzip-compressed or plain: zlib's gzread reads both. Every problem
// is a data_error naming the file; nothing is allocated before the header has been
// checked, and a file is accepted only if it holds exactly the data it promises.
#include "kiln/data/error.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace kiln::data {

// An IDX file's contents: its dimensions and its bytes, row-major.
struct idx_array {
    std::vector<std::size_t> dims;
    std::vector<std::uint8_t> values;
};

// The only element type kiln reads: pixels and labels are unsigned bytes.
inline constexpr std::uint8_t idx_unsigned_byte = 0x08;
inline constexpr std::size_t idx_max_rank = 4;
// Refused before allocating: a corrupt header must not become a huge allocation.
inline constexpr std::size_t idx_max_bytes = std::size_t{1} << 30;

namespace detail {

struct gz_closer {
    void operator()(gzFile file) const noexcept { gzclose_r(file); }
};
using gz_handle = std::unique_ptr<std::remove_pointer_t<gzFile>, gz_closer>;

[[gnu::cold]] inline std::string idx_type_name(std::uint8_t type) {
    switch (type) {
    case 0x08:
        return "unsigned byte";
    case 0x09:
        return "signed byte";
    case 0x0B:
        return "16-bit integer";
    case 0x0C:
        return "32-bit integer";
    case 0x0D:
        return "32-bit float";
    case 0x0E:
        return "64-bit float";
    default:
        return "";
    }
}

[[gnu::cold]] inline std::string hex_byte(std::uint8_t byte) {
    char text[8];
    std::snprintf(text, sizeof text, "0x%02x", static_cast<unsigned>(byte));
    return text;
}

[[gnu::cold]] inline std::string dims_text(const std::vector<std::size_t>& dims) {
    std::string text;
    for (std::size_t i = 0; i < dims.size(); ++i)
        text += (i ? " x " : "") + std::to_string(dims[i]);
    return text;
}

// A gzip or plain file read in order; counts what it has read so that errors can
// say how much the file held.
class gz_reader {
public:
    [[gnu::cold]] explicit gz_reader(const std::filesystem::path& path) : path_(path) {
        std::error_code ec;
        const auto status = std::filesystem::status(path, ec);
        if (status.type() == std::filesystem::file_type::not_found)
            throw data_error(path, "no such file");
        if (status.type() == std::filesystem::file_type::directory)
            throw data_error(path, "is a directory, not a file");
        errno = 0;
        file_.reset(gzopen(path.c_str(), "rb"));
        if (!file_) {
            const int error = errno;
            throw data_error(path, "cannot open: " +
                                       std::string(error ? std::strerror(error) : "out of memory"));
        }
        gzbuffer(file_.get(), 1U << 17); // fewer, larger reads than the 8 KiB default
    }

    // Reads up to `count` bytes; fewer only at the end of the file.
    [[gnu::cold]] std::size_t read(void* out, std::size_t count) {
        auto* bytes = static_cast<unsigned char*>(out);
        std::size_t got = 0;
        while (got < count) {
            // gzread takes an unsigned and returns an int: read in chunks an int holds.
            const std::size_t chunk = std::min<std::size_t>(count - got, std::size_t{1} << 26);
            errno = 0;
            const int n = gzread(file_.get(), bytes + got, static_cast<unsigned>(chunk));
            check_stream(errno);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        total_ += got;
        return got;
    }

    // Reads what is left, returning how many bytes that was.
    [[gnu::cold]] std::size_t skip_to_end() {
        std::size_t skipped = 0;
        std::uint8_t scrap[4096];
        while (const std::size_t n = read(scrap, sizeof scrap))
            skipped += n;
        return skipped;
    }

    // Bytes read so far, decompressed.
    std::size_t total() const noexcept { return total_; }

    // Throws `problem` about the file's contents, unless the gzip stream turns out
    // to be corrupt further on: then corrupt contents are a symptom, and the
    // corruption is the error to report.
    [[noreturn]] void refuse(const std::string& problem) {
        skip_to_end();
        throw data_error(path_, problem);
    }

private:
    // gzread may return data and flag an error in the same call, so the stream's
    // state is checked after every read, before any count is believed.
    [[gnu::cold]] void check_stream(int read_errno) {
        int code = Z_OK;
        const char* raw_message = gzerror(file_.get(), &code);
        if (code == Z_OK) return;
        const std::string message = zlib_message(raw_message);
        switch (code) {
        case Z_ERRNO:
            throw data_error(path_,
                             "read error: " + std::string(read_errno ? std::strerror(read_errno)
                                                                     : message.c_str()));
        case Z_BUF_ERROR:
            throw data_error(path_, "truncated gzip stream: " + message);
        case Z_MEM_ERROR:
            throw data_error(path_, "out of memory while decompressing");
        default:
            throw data_error(path_, "corrupt gzip stream: " + message);
        }
    }

    // zlib prefixes its messages with the path it was given; data_error adds it already.
    [[gnu::cold]] std::string zlib_message(const char* message) const {
        std::string text = message ? message : "";
        const std::string prefix = path_.string() + ": ";
        if (text.compare(0, prefix.size(), prefix) == 0) text.erase(0, prefix.size());
        return text;
    }

    std::filesystem::path path_;
    gz_handle file_;
    std::size_t total_ = 0;
};

} // namespace detail

[[gnu::cold]] inline idx_array read_idx(const std::filesystem::path& path) {
    detail::gz_reader in(path);

    std::uint8_t magic[4];
    const std::size_t magic_read = in.read(magic, sizeof magic);
    if (magic_read == 0) in.refuse("empty file: an IDX file starts with a 4-byte magic number");
    if (magic_read < sizeof magic)
        in.refuse("truncated header: an IDX file starts with a 4-byte magic "
                  "number, the file has " +
                  std::to_string(magic_read) + " bytes");
    if (magic[0] != 0 || magic[1] != 0)
        in.refuse("wrong magic: the first two bytes are " + detail::hex_byte(magic[0]) + " " +
                  detail::hex_byte(magic[1]) + ", an IDX file starts with two zero bytes");

    const std::uint8_t type = magic[2];
    if (type != idx_unsigned_byte) {
        const std::string name = detail::idx_type_name(type);
        in.refuse((name.empty()
                       ? "unknown data type " + detail::hex_byte(type)
                       : "unsupported data type " + detail::hex_byte(type) + " (" + name + ")") +
                  ": only unsigned bytes (0x08) are supported");
    }

    const std::size_t rank = magic[3];
    if (rank == 0 || rank > idx_max_rank)
        in.refuse("bad rank " + std::to_string(rank) + ": the rank must be 1 to " +
                  std::to_string(idx_max_rank));

    std::uint8_t dim_bytes[4 * idx_max_rank];
    const std::size_t header_size = 4 + 4 * rank;
    if (in.read(dim_bytes, 4 * rank) < 4 * rank)
        in.refuse("truncated header: rank " + std::to_string(rank) + " needs a " +
                  std::to_string(header_size) + "-byte header, the file has " +
                  std::to_string(in.total()) + " bytes");

    idx_array array;
    array.dims.resize(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        const std::uint8_t* b = dim_bytes + 4 * i;
        array.dims[i] = std::size_t{b[0]} << 24 | std::size_t{b[1]} << 16 | std::size_t{b[2]} << 8 |
                        std::size_t{b[3]};
    }

    // Dimensions are at most 2^32 - 1 each: the product is kept below the limit
    // at every step, so it never overflows.
    std::size_t count = 1;
    for (std::size_t i = 0; i < rank; ++i) {
        if (array.dims[i] == 0)
            in.refuse("zero dimension: dimension " + std::to_string(i) + " of " +
                      detail::dims_text(array.dims) + " is 0");
        if (count > idx_max_bytes / array.dims[i])
            in.refuse("too large: " + detail::dims_text(array.dims) +
                      " bytes is more than the 1 GiB limit");
        count *= array.dims[i];
    }

    // The buffer grows as the data arrive (from 1 MiB, doubling), so that a short
    // file whose header promises a gigabyte costs what the file holds, not what
    // it promises (found by fuzz/idx_reader: a 20-byte file took 1 GiB and 15 ms).
    std::size_t data_read = 0;
    while (data_read < count) {
        const std::size_t target = std::min(count, std::max(std::size_t{1} << 20, 2 * data_read));
        array.values.reserve(target); // exactly: no room left over at the end
        array.values.resize(target);
        const std::size_t got = in.read(array.values.data() + data_read, target - data_read);
        data_read += got;
        if (data_read < target) break;
    }
    if (data_read < count)
        in.refuse("truncated: the header promises " + std::to_string(count) +
                  " bytes of data, the file has " + std::to_string(data_read));

    // Reading to the end also makes zlib check the gzip trailer (CRC and length).
    if (const std::size_t trailing = in.skip_to_end(); trailing > 0)
        in.refuse("trailing bytes: " + std::to_string(trailing) + " bytes after the " +
                  std::to_string(count) + " bytes of data the header promises");
    return array;
}

} // namespace kiln::data
