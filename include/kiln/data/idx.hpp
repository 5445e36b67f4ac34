#pragma once
// Reading IDX files, the format of LeCun's MNIST and of Fashion-MNIST:
//   two zero bytes, a type byte, a rank byte (the magic number);
//   rank big-endian uint32 dimensions;
//   the data, row-major.
// The file may be gzip-compressed or plain; it must be a regular file. Every
// problem is a data_error naming the file; nothing is allocated before the header
// has been checked against the file's size, and a file is accepted only if it
// holds exactly the data it promises, and nothing after it (not even after the
// end of a gzip stream).
#include "kiln/core/checked_size.hpp"
#include "kiln/data/error.hpp"
#include "kiln/io/regular_file.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
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

// deflate never packs more than 1032 bytes into one (258-byte matches at their
// shortest code): a gzip file of n bytes holds at most 1032 n bytes of data.
inline constexpr std::uint64_t gzip_max_ratio = 1032;
// How far past a problem found in a gzip file's contents the rest of the stream
// is decompressed, to report corruption rather than its symptom, and how many
// trailing bytes are counted: a bounded cost for a file that is refused anyway.
inline constexpr std::size_t idx_scan_limit = std::size_t{16} << 20;

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

// The bytes of an IDX file in order: inflated when the file is gzip (it starts
// with 1f 8b; an IDX file starts with two zero bytes), read as they are
// otherwise. The file is a regular file (io/regular_file.hpp), its size known
// before anything is inflated. A gzip file may hold several members, one after another, as gzip
// itself writes them; anything else after a member is an error, where zlib's
// gzread would silently drop it.
class idx_stream {
public:
    [[gnu::cold]] explicit idx_stream(const std::filesystem::path& path)
        : path_(path), file_(open_regular_file<data_error>(path)), buffer_(std::size_t{1} << 17) {
        fill(2);
        gzip_ = end_ >= 2 && buffer_[0] == 0x1f && buffer_[1] == 0x8b;
        if (gzip_) {
            if (inflateInit2(&stream_, 15 + 16) != Z_OK) // 15: the largest window; +16: gzip
                throw data_error(path_, "out of memory while decompressing");
            inflating_ = true;
        }
    }
    idx_stream(const idx_stream&) = delete;
    idx_stream& operator=(const idx_stream&) = delete;
    ~idx_stream() {
        if (inflating_) inflateEnd(&stream_);
    }

    bool gzip() const noexcept { return gzip_; }
    // The file's size on disk (compressed, for gzip).
    std::uint64_t file_size() const noexcept { return file_.size(); }
    // Bytes read so far, inflated.
    std::size_t total() const noexcept { return total_; }

    // Reads up to `count` bytes; fewer only at the end of the data.
    [[gnu::cold]] std::size_t read(void* out, std::size_t count) {
        auto* bytes = static_cast<unsigned char*>(out);
        const std::size_t got = gzip_ ? inflate_into(bytes, count) : copy_into(bytes, count);
        total_ += got;
        return got;
    }

    // Reads on to the end of the data, or to `limit` bytes; returns how many.
    [[gnu::cold]] std::size_t skip(std::size_t limit = idx_scan_limit) {
        std::size_t skipped = 0;
        std::uint8_t scrap[4096];
        while (skipped < limit)
            if (const std::size_t n = read(scrap, std::min(sizeof scrap, limit - skipped)))
                skipped += n;
            else
                break;
        return skipped;
    }

    // Throws `problem` about the file's contents, unless the gzip stream turns out
    // to be corrupt a little further on: corrupt contents are then a symptom, and
    // the corruption is the error to report.
    [[noreturn, gnu::cold]] void refuse(const std::string& problem) {
        if (gzip_) (void)skip();
        throw data_error(path_, problem);
    }
    // Throws `problem` at once: a refusal that must not cost an inflation.
    [[noreturn, gnu::cold]] void refuse_now(const std::string& problem) const {
        throw data_error(path_, problem);
    }

private:
    // Makes at least `wanted` bytes available in the buffer (fewer at the end of
    // the file), keeping those not yet used.
    [[gnu::cold]] void fill(std::size_t wanted) {
        if (end_ - at_ >= wanted || file_ended_) return;
        std::memmove(buffer_.data(), buffer_.data() + at_, end_ - at_);
        offset_ += at_;
        end_ -= at_;
        at_ = 0;
        while (end_ < wanted && !file_ended_) {
            const std::size_t n = read_file(buffer_.data() + end_, buffer_.size() - end_);
            file_ended_ = n == 0;
            end_ += n;
        }
    }

    [[gnu::cold]] std::size_t read_file(unsigned char* out, std::size_t count) {
        try {
            return file_.read(out, count);
        } catch (const std::system_error& failure) {
            throw data_error(path_, "read error: " + failure.code().message());
        }
    }

    // A plain file: what is buffered, then straight from the file.
    [[gnu::cold]] std::size_t copy_into(unsigned char* out, std::size_t count) {
        const std::size_t buffered = std::min(count, end_ - at_);
        std::memcpy(out, buffer_.data() + at_, buffered);
        at_ += buffered;
        return buffered + (buffered < count ? read_file(out + buffered, count - buffered) : 0);
    }

    [[gnu::cold]] std::size_t inflate_into(unsigned char* out, std::size_t count) {
        std::size_t got = 0;
        while (got < count) {
            if (member_ended_) {
                // What follows a member is another member, or nothing.
                fill(2);
                if (at_ == end_) break;
                if (end_ - at_ < 2 || buffer_[at_] != 0x1f || buffer_[at_ + 1] != 0x8b)
                    refuse_now("trailing bytes after the gzip stream: " +
                               std::to_string(file_.size() - offset_ - at_) +
                               " bytes that are not gzip data");
                inflateReset(&stream_);
                member_ended_ = false;
            }
            fill(1);
            stream_.next_in = buffer_.data() + at_;
            stream_.avail_in = static_cast<uInt>(end_ - at_);
            const std::size_t room = std::min<std::size_t>(count - got, std::size_t{1} << 30);
            stream_.next_out = out + got;
            stream_.avail_out = static_cast<uInt>(room);
            const int code = inflate(&stream_, Z_NO_FLUSH);
            at_ = end_ - stream_.avail_in;
            got += room - stream_.avail_out;
            switch (code) {
            case Z_OK:
                break;
            case Z_STREAM_END:
                member_ended_ = true;
                break;
            case Z_BUF_ERROR: // no progress: no input left
                if (at_ == end_ && file_ended_)
                    refuse_now("truncated gzip stream: the file ends inside it");
                break;
            case Z_MEM_ERROR:
                refuse_now("out of memory while decompressing");
            default: // Z_DATA_ERROR (a bad block, check or length), Z_NEED_DICT
                refuse_now("corrupt gzip stream: " +
                           std::string(stream_.msg ? stream_.msg : "unreadable data"));
            }
        }
        return got;
    }

    std::filesystem::path path_;
    regular_file file_;
    std::vector<unsigned char> buffer_;
    std::size_t at_ = 0, end_ = 0; // the unread bytes of buffer_
    std::uint64_t offset_ = 0;     // the file offset of buffer_[0]
    bool file_ended_ = false;
    bool gzip_ = false, inflating_ = false, member_ended_ = false;
    z_stream stream_{};
    std::size_t total_ = 0;
};

// An IDX file's header: its dimensions and the bytes of data they promise.
struct idx_header {
    std::vector<std::size_t> dims;
    std::size_t count = 0; // bytes of data
    std::size_t size = 0;  // bytes of the header
};

// Reads and checks a header; the data it promises is checked against the file's
// size (for gzip, against the most a file of that size can inflate to) before
// any of it is read.
[[gnu::cold]] inline idx_header read_idx_header(idx_stream& in) {
    std::uint8_t magic[4];
    const std::size_t magic_read = in.read(magic, sizeof magic);
    if (magic_read == 0) in.refuse("empty file: an IDX file starts with a 4-byte magic number");
    if (magic_read < sizeof magic)
        in.refuse("truncated header: an IDX file starts with a 4-byte magic "
                  "number, the file has " +
                  std::to_string(magic_read) + " bytes");
    if (magic[0] != 0 || magic[1] != 0)
        in.refuse("wrong magic: the first two bytes are " + hex_byte(magic[0]) + " " +
                  hex_byte(magic[1]) + ", an IDX file starts with two zero bytes");

    const std::uint8_t type = magic[2];
    if (type != idx_unsigned_byte) {
        const std::string name = idx_type_name(type);
        in.refuse((name.empty() ? "unknown data type " + hex_byte(type)
                                : "unsupported data type " + hex_byte(type) + " (" + name + ")") +
                  ": only unsigned bytes (0x08) are supported");
    }

    const std::size_t rank = magic[3];
    if (rank == 0 || rank > idx_max_rank)
        in.refuse("bad rank " + std::to_string(rank) + ": the rank must be 1 to " +
                  std::to_string(idx_max_rank));

    idx_header header;
    std::uint8_t dim_bytes[4 * idx_max_rank];
    header.size = 4 + 4 * rank;
    if (in.read(dim_bytes, 4 * rank) < 4 * rank)
        in.refuse("truncated header: rank " + std::to_string(rank) + " needs a " +
                  std::to_string(header.size) + "-byte header, the file has " +
                  std::to_string(in.total()) + " bytes");

    header.dims.resize(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        const std::uint8_t* b = dim_bytes + 4 * i;
        header.dims[i] = std::size_t{b[0]} << 24 | std::size_t{b[1]} << 16 |
                         std::size_t{b[2]} << 8 | std::size_t{b[3]};
    }
    header.count = 1;
    for (std::size_t i = 0; i < rank; ++i) {
        if (header.dims[i] == 0)
            in.refuse("zero dimension: dimension " + std::to_string(i) + " of " +
                      dims_text(header.dims) + " is 0");
        if (!multiply_fits(header.count, header.dims[i], header.count) ||
            header.count > idx_max_bytes)
            in.refuse("too large: " + dims_text(header.dims) +
                      " bytes is more than the 1 GiB limit");
    }

    // What the file can hold, known from its size alone.
    const std::uint64_t promised = header.size + header.count;
    if (!in.gzip()) {
        const std::uint64_t held = in.file_size() - std::min(in.file_size(), header.size);
        if (held < header.count)
            in.refuse_now("truncated: the header promises " + std::to_string(header.count) +
                          " bytes of data, the file has " + std::to_string(held));
        if (held > header.count)
            in.refuse_now("trailing bytes: " + std::to_string(held - header.count) +
                          " bytes after the " + std::to_string(header.count) +
                          " bytes of data the header promises");
    } else if (promised > gzip_max_ratio * in.file_size()) {
        in.refuse_now("impossible header: " + dims_text(header.dims) + " promises " +
                      std::to_string(header.count) + " bytes of data, more than a gzip file of " +
                      std::to_string(in.file_size()) + " bytes can hold (at most " +
                      std::to_string(gzip_max_ratio * in.file_size()) + ")");
    }
    return header;
}

// Reads the data a checked header promises, and checks that nothing follows.
[[gnu::cold]] inline idx_array read_idx_data(idx_stream& in, idx_header header) {
    idx_array array;
    array.dims = std::move(header.dims);
    const std::size_t count = header.count;
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

    // Reading to the end also makes zlib check each gzip trailer (CRC and length).
    if (const std::size_t trailing = in.skip(); trailing > 0)
        in.refuse("trailing bytes: " + (trailing == idx_scan_limit ? "more than " : std::string()) +
                  std::to_string(trailing) + " bytes after the " + std::to_string(count) +
                  " bytes of data the header promises");
    return array;
}

} // namespace detail

// Reads and checks a whole IDX file.
[[gnu::cold]] inline idx_array read_idx(const std::filesystem::path& path) {
    detail::idx_stream in(path);
    return detail::read_idx_data(in, detail::read_idx_header(in));
}

} // namespace kiln::data
