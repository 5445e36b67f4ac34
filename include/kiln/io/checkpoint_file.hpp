#pragma once
// kiln::checkpoint: a checkpoint file in memory. A header says which network
// and scalar type it belongs to; named, typed sections hold the values (a
// model's parameters, an optimizer's velocity, a generator's state, a run's
// counters). The format (docs/checkpoints.md), all little-endian:
//
//   0   8  magic "KILNCKPT"                     | the same in every version, so
//   8   4  format version (u32)                 | that a file of a newer version
//   12  4  flags (u32), 0                       | is recognised as one
//   16  8  size of the whole file in bytes (u64)
//   24  4  scalar type: 1 float32, 2 float64
//   28  4  0
//   32  8  parameter count (logical, u64)
//   40  8  parameter storage in scalars (padding included, u64)
//   48  4  signature length, then the signature (graph/signature.hpp)
//       4  section count; per section: u16 name length, name, u8 element type
//          (1 float32, 2 float64, 3 uint64, 4 text byte), u64 count, the values
//   -4  4  CRC-32 (zlib's) of every byte before it  (last in every version)
//
// Reading checks, in order: the magic, the size (truncation), the checksum
// (any damaged byte), the version, then the contents; expect<Net, T>() then
// checks the network and the scalar type. Every refusal is a checkpoint_error.
#include "kiln/graph/model.hpp"
#include "kiln/graph/signature.hpp"
#include "kiln/io/atomic_file.hpp"
#include "kiln/io/checkpoint_error.hpp"
#include "kiln/io/little_endian.hpp"
#include "kiln/io/regular_file.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace kiln {

namespace detail {
// The sizes a checkpoint can have, before anything is read past them.
inline constexpr std::size_t checkpoint_fixed_header = 24; // magic, version, flags, size
inline constexpr std::size_t checkpoint_checksum_size = 4;
// Refused before reading: no kiln network comes near this.
inline constexpr std::uint64_t checkpoint_max_bytes = std::uint64_t{1} << 34;

[[gnu::cold]] inline std::uint32_t crc32_of(std::span<const std::byte> bytes) {
    // crc32_z takes a size_t length: no need to split a large buffer.
    return static_cast<std::uint32_t>(::crc32_z(
        ::crc32_z(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

[[gnu::cold]] inline std::string hex32(std::uint32_t value) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%08x", static_cast<unsigned>(value));
    return text;
}

// The first bytes of a file, printable, for a "not a checkpoint" message.
[[gnu::cold]] inline std::string quoted_start(std::span<const std::byte> bytes) {
    std::string text = "\"";
    for (std::size_t i = 0; i < bytes.size() && i < 8; ++i) {
        const auto c = std::to_integer<unsigned char>(bytes[i]);
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            text += static_cast<char>(c);
        } else {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned>(c));
            text += escaped;
        }
    }
    return text + "\"";
}
} // namespace detail

class checkpoint {
public:
    // The element types a section can hold.
    enum class element : std::uint8_t { float32 = 1, float64 = 2, uint64 = 3, text = 4 };

    static constexpr std::string_view magic = "KILNCKPT";
    // The version this kiln writes and the newest it reads.
    static constexpr std::uint32_t format_version = 1;

    template <class T>
    static constexpr element element_of = std::is_same_v<T, float>    ? element::float32
                                          : std::is_same_v<T, double> ? element::float64
                                          : std::is_same_v<T, char>   ? element::text
                                                                      : element::uint64;
    template <class T>
    static constexpr bool storable = std::is_same_v<T, float> || std::is_same_v<T, double> ||
                                     std::is_same_v<T, std::uint64_t> ||
                                     (std::is_same_v<T, std::size_t> && sizeof(T) == 8);

    [[gnu::cold]] static std::string element_name(element type) {
        switch (type) {
        case element::float32:
            return "float32";
        case element::float64:
            return "float64";
        case element::uint64:
            return "uint64";
        case element::text:
            return "text";
        }
        return "unknown element type " + std::to_string(static_cast<unsigned>(type));
    }
    static std::size_t element_size(element type) noexcept {
        return type == element::float32 ? 4 : type == element::text ? 1 : 8;
    }

    // An empty checkpoint for network Net with T parameters.
    template <class Net, class T>
    [[gnu::cold]] static checkpoint of() {
        static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
        return checkpoint(network_signature<Net>(), element_of<T>, Net::param_count,
                          parameter_layout<Net>::storage_size);
    }

    checkpoint(std::string signature, element scalar, std::uint64_t param_count,
               std::uint64_t storage_size)
        : signature_(std::move(signature)), scalar_(scalar), param_count_(param_count),
          storage_size_(storage_size) {}

    // --- Sections -----------------------------------------------------------
    // put adds a section, or replaces the one of the same name.
    template <class T>
    requires storable<T>
    [[gnu::cold]] void put(std::string_view name, std::span<const T> values) {
        byte_writer bytes;
        bytes.put(values);
        set(name, element_of<T>, values.size(), std::move(bytes.bytes()));
    }
    template <class T>
    requires storable<T>
    void put(std::string_view name, std::span<T> values) { put(name, std::span<const T>(values)); }
    template <class T>
    requires storable<T>
    [[gnu::cold]] void put(std::string_view name, const std::vector<T>& values) {
        put(name, std::span<const T>(values));
    }
    template <class T>
    requires storable<T>
    void put_value(std::string_view name, T value) { put(name, std::span<const T>(&value, 1)); }
    [[gnu::cold]] void put_text(std::string_view name, std::string_view text) {
        byte_writer bytes;
        bytes.put_text(text);
        set(name, element::text, text.size(), std::move(bytes.bytes()));
    }

    bool has(std::string_view name) const noexcept { return find(name) != nullptr; }

    // Fills `out` from a section that must hold exactly out.size() values of type T.
    template <class T>
    requires storable<T>
    [[gnu::cold]] void get(std::string_view name, std::span<T> out) const {
        const section& s = require(name, element_of<T>);
        if (s.count != out.size())
            fail("section '" + std::string(name) + "' holds " + std::to_string(s.count) +
                 " values, this program expects " + std::to_string(out.size()));
        read_little_endian(std::span<const std::byte>(s.bytes), out);
    }
    template <class T>
    requires storable<T> std::vector<T> get_all(std::string_view name)
    const {
        const section& s = require(name, element_of<T>);
        std::vector<T> values(s.count);
        read_little_endian(std::span<const std::byte>(s.bytes), std::span<T>(values));
        return values;
    }
    template <class T>
    requires storable<T> T get_value(std::string_view name)
    const {
        T value{};
        get(name, std::span<T>(&value, 1));
        return value;
    }
    [[gnu::cold]] std::string get_text(std::string_view name) const {
        const section& s = require(name, element::text);
        return {reinterpret_cast<const char*>(s.bytes.data()), s.bytes.size()};
    }

    // Names of the sections, in the order they were put.
    [[gnu::cold]] std::vector<std::string> section_names() const {
        std::vector<std::string> names;
        for (const auto& s : sections_)
            names.push_back(s.name);
        return names;
    }

    // --- The header -----------------------------------------------------------
    const std::string& signature() const noexcept { return signature_; }
    element scalar() const noexcept { return scalar_; }
    std::uint64_t param_count() const noexcept { return param_count_; }
    std::uint64_t storage_size() const noexcept { return storage_size_; }
    // The file it was read from or last saved to (empty for one only in memory).
    const std::filesystem::path& file() const noexcept { return file_; }

    // Refuses a checkpoint of another network, scalar type or memory layout,
    // naming what the file holds and what the program expects.
    template <class Net, class T>
    [[gnu::cold]] const checkpoint& expect() const {
        expect(network_signature<Net>(), element_of<T>, Net::param_count,
               parameter_layout<Net>::storage_size);
        return *this;
    }
    [[gnu::cold]] void expect(const std::string& signature, element scalar,
                              std::uint64_t param_count, std::uint64_t storage_size) const {
        if (signature != signature_)
            fail("the file holds another network: " + describe(signature_, param_count_) +
                 " in the file, " + describe(signature, param_count) +
                 " in this program (first difference: " +
                 signature_difference(signature_, signature, "in the file", "here") + ")");
        if (scalar != scalar_)
            fail("the file holds " + element_name(scalar_) +
                 " parameters, this program's model is " + element_name(scalar) +
                 " (load it into a kiln::model<Net, " + scalar_keyword(scalar_) +
                 ">, then convert: kiln::model<Net, " + scalar_keyword(scalar) + ">(loaded))");
        if (param_count != param_count_ || storage_size != storage_size_)
            fail("the file holds the same layers but another memory layout (" +
                 std::to_string(storage_size_) + " scalars for " + std::to_string(param_count_) +
                 " parameters in the file, " + std::to_string(storage_size) + " for " +
                 std::to_string(param_count) + " here): it was written by another kiln version");
    }

    // --- Bytes and files --------------------------------------------------------
    [[gnu::cold]] std::vector<std::byte> encode() const {
        byte_writer out;
        out.put_text(magic);
        out.put(format_version);
        out.put(std::uint32_t{0}); // flags
        const std::size_t size_at = out.size();
        out.put(std::uint64_t{0}); // the file size, patched below
        out.put(static_cast<std::uint32_t>(scalar_));
        out.put(std::uint32_t{0});
        out.put(param_count_);
        out.put(storage_size_);
        out.put(static_cast<std::uint32_t>(signature_.size()));
        out.put_text(signature_);
        out.put(static_cast<std::uint32_t>(sections_.size()));
        for (const auto& s : sections_) {
            out.put(static_cast<std::uint16_t>(s.name.size()));
            out.put_text(s.name);
            out.put(static_cast<std::uint8_t>(s.type));
            out.put(s.count);
            out.put_bytes(s.bytes);
        }
        out.patch(size_at,
                  static_cast<std::uint64_t>(out.size() + detail::checkpoint_checksum_size));
        out.put(detail::crc32_of(out.bytes()));
        return std::move(out.bytes());
    }

    // Reads a checkpoint from bytes; `file` names them in errors.
    [[gnu::cold]] static checkpoint decode(std::span<const std::byte> bytes,
                                           const std::filesystem::path& file) {
        auto refuse = [&](const std::string& problem) { throw checkpoint_error(file, problem); };
        const std::size_t size = bytes.size();
        check_start(bytes.first(std::min(size, detail::checkpoint_fixed_header)), size, file);
        byte_reader header(bytes.first(detail::checkpoint_fixed_header));
        (void)header.take(magic.size(), "the magic");
        const auto version = header.get<std::uint32_t>("the version");
        const auto flags = header.get<std::uint32_t>("the flags");
        const auto body = bytes.first(size - detail::checkpoint_checksum_size);
        const auto stored = byte_reader(bytes.last(detail::checkpoint_checksum_size))
                                .get<std::uint32_t>("the checksum");
        if (const auto computed = detail::crc32_of(body); computed != stored)
            refuse("corrupt: the CRC-32 checksum does not match (the file says " +
                   detail::hex32(stored) + ", its contents give " + detail::hex32(computed) +
                   "): it was damaged after it was written");
        if (version > format_version)
            refuse("written in checkpoint format version " + std::to_string(version) +
                   " by a newer kiln; this program reads format versions up to " +
                   std::to_string(format_version) + ": use a newer kiln");
        if (version == 0) refuse("corrupt: format version 0 does not exist");
        if (flags != 0) refuse("corrupt: header flags are " + detail::hex32(flags) + ", not 0");

        try {
            return parse_body(body, file);
        } catch (const std::out_of_range& overrun) {
            refuse("corrupt: " + std::string(overrun.what()));
        }
        return checkpoint({}, element::float32, 0, 0); // not reached
    }

    // Writes atomically (io/atomic_file.hpp): on any failure the file keeps its
    // previous contents.
    [[gnu::cold]] void save(const std::filesystem::path& path) {
        const auto bytes = encode();
        try {
            write_file_atomically(path, bytes);
        } catch (const std::system_error& failure) {
            throw checkpoint_error(path, "not saved, the file is as it was: " +
                                             std::string(failure.what()));
        }
        file_ = path;
    }

    // Reads and checks a file (every check but the network's: see expect). Only a
    // regular file is opened (io/regular_file.hpp), and its first 24 bytes are
    // checked (the magic, and the size the header states against the file's)
    // before the rest is read: a large file that is not a checkpoint is refused
    // without reading it. The version is judged after the checksum, as decode
    // does, so that a damaged version never passes for a newer format.
    [[gnu::cold]] static checkpoint load(const std::filesystem::path& path) {
        const regular_file file = open_regular_file<checkpoint_error>(path, "a checkpoint file");
        const std::uint64_t length = file.size();
        if (length > detail::checkpoint_max_bytes)
            throw checkpoint_error(path, "not a kiln checkpoint: " + std::to_string(length) +
                                             " bytes, more than the 16 GiB a checkpoint may have");
        std::vector<std::byte> bytes(std::min<std::size_t>(static_cast<std::size_t>(length),
                                                           detail::checkpoint_fixed_header));
        read_exactly(file, bytes, 0, path);
        check_start(bytes, length, path);
        bytes.resize(static_cast<std::size_t>(length));
        read_exactly(file, std::span(bytes).subspan(detail::checkpoint_fixed_header),
                     detail::checkpoint_fixed_header, path);
        checkpoint result = decode(bytes, path);
        result.file_ = path;
        return result;
    }
    // Reads a file and checks that it is for network Net with T parameters.
    template <class Net, class T>
    [[gnu::cold]] static checkpoint load(const std::filesystem::path& path) {
        checkpoint result = load(path);
        result.expect<Net, T>();
        return result;
    }

    // Throws a checkpoint_error about this checkpoint's file.
    [[noreturn]] void fail(const std::string& problem) const {
        throw checkpoint_error(
            file_.empty() ? std::filesystem::path("(checkpoint in memory)") : file_, problem);
    }

private:
    struct section {
        std::string name;
        element type;
        std::uint64_t count;
        std::vector<std::byte> bytes; // little-endian
    };

    static constexpr std::size_t max_name = 1024;
    static constexpr std::size_t max_signature = std::size_t{1} << 20;

    [[gnu::cold]] static std::string scalar_keyword(element type) {
        return type == element::float32 ? "float" : "double";
    }
    [[gnu::cold]] static std::string describe(const std::string& signature, std::uint64_t params) {
        return "'" + signature + "' (" + std::to_string(params) + " parameters)";
    }

    const section* find(std::string_view name) const noexcept {
        for (const auto& s : sections_)
            if (s.name == name) return &s;
        return nullptr;
    }

    [[gnu::cold]] void set(std::string_view name, element type, std::uint64_t count,
                           std::vector<std::byte> bytes) {
        if (name.empty() || name.size() > max_name)
            fail("a section name must have 1 to " + std::to_string(max_name) + " characters");
        section entry{std::string(name), type, count, std::move(bytes)};
        for (auto& s : sections_)
            if (s.name == name) {
                s = std::move(entry);
                return;
            }
        sections_.push_back(std::move(entry));
    }

    [[gnu::cold]] const section& require(std::string_view name, element type) const {
        const section* s = find(name);
        if (s == nullptr) {
            std::string names;
            for (const auto& other : sections_)
                names += (names.empty() ? "" : ", ") + other.name;
            fail("has no section '" + std::string(name) +
                 "' (it has: " + (names.empty() ? "none" : names) + ")");
        }
        if (s->type != type)
            fail("section '" + std::string(name) + "' holds " + element_name(s->type) +
                 " values, this program expects " + element_name(type));
        return *s;
    }

    // The checks the first 24 bytes allow, given the file's size: that it is a
    // checkpoint (the magic) and has the size its header states. `start` holds the
    // first min(size, 24) bytes.
    [[gnu::cold]] static void check_start(std::span<const std::byte> start, std::uint64_t size,
                                          const std::filesystem::path& file) {
        auto refuse = [&](const std::string& problem) { throw checkpoint_error(file, problem); };
        if (size == 0) refuse("empty file: not a kiln checkpoint");
        const auto head = start.first(std::min(start.size(), magic.size()));
        if (!std::equal(head.begin(), head.end(), std::as_bytes(std::span(magic)).begin()))
            refuse("not a kiln checkpoint: it starts with " + detail::quoted_start(start) +
                   ", a checkpoint with \"KILNCKPT\"" +
                   (std::to_integer<char>(start[0]) == 'P' && start.size() > 1 &&
                            std::to_integer<char>(start[1]) == 'K'
                        ? " (this looks like a zip archive, as PyTorch saves: convert it with "
                          "scripts/torch_weights.py)"
                        : ""));
        constexpr std::size_t smallest =
            detail::checkpoint_fixed_header + detail::checkpoint_checksum_size;
        if (size < smallest)
            refuse("truncated: " + std::to_string(size) + " bytes, fewer than the " +
                   std::to_string(smallest) + " that every checkpoint's header and checksum take");
        const auto declared = byte_reader(start.subspan(16, 8)).get<std::uint64_t>("the file size");
        if (declared > size)
            refuse("truncated: the header says the file holds " + std::to_string(declared) +
                   " bytes, it has " + std::to_string(size));
        if (declared < size)
            refuse("corrupt: the file has " + std::to_string(size) + " bytes, its header says " +
                   std::to_string(declared) + " (trailing bytes, or a damaged header)");
    }

    // Fills `out` with the file's bytes from `offset`; a file that ends early (it
    // shrank after its size was read) or fails to read is a checkpoint_error.
    [[gnu::cold]] static void read_exactly(const regular_file& file, std::span<std::byte> out,
                                           std::uint64_t offset,
                                           const std::filesystem::path& path) {
        std::size_t done = 0;
        while (done < out.size()) {
            const ::ssize_t n = ::pread(file.descriptor(), out.data() + done, out.size() - done,
                                        static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0)
                throw checkpoint_error(path,
                                       "read error after " + std::to_string(offset + done) +
                                           " bytes: " + std::generic_category().message(errno));
            if (n == 0)
                throw checkpoint_error(
                    path, "truncated while it was read: " + std::to_string(offset + done) + " of " +
                              std::to_string(offset + out.size()) + " bytes");
            done += static_cast<std::size_t>(n);
        }
    }

    // Everything after the fixed header, up to the checksum. Lengths and counts
    // are checked against the bytes left before anything is allocated.
    [[gnu::cold]] static checkpoint parse_body(std::span<const std::byte> body,
                                               const std::filesystem::path& file) {
        auto refuse = [&](const std::string& problem) {
            throw checkpoint_error(file, "corrupt: " + problem);
        };
        byte_reader in(body);
        (void)in.take(detail::checkpoint_fixed_header, "the fixed header");
        const auto scalar = static_cast<element>(in.get<std::uint32_t>("the scalar type"));
        if (scalar != element::float32 && scalar != element::float64)
            refuse("scalar type " + std::to_string(static_cast<unsigned>(scalar)) +
                   " is neither float32 (1) nor float64 (2)");
        if (in.get<std::uint32_t>("a reserved field") != 0) refuse("a reserved field is not 0");
        const auto param_count = in.get<std::uint64_t>("the parameter count");
        const auto storage_size = in.get<std::uint64_t>("the parameter storage size");
        const auto signature_size = in.get<std::uint32_t>("the signature's length");
        if (signature_size > max_signature)
            refuse("a signature of " + std::to_string(signature_size) + " bytes");
        const auto signature = in.take(signature_size, "the signature");
        checkpoint result({reinterpret_cast<const char*>(signature.data()), signature.size()},
                          scalar, param_count, storage_size);
        result.file_ = file;

        const auto count = in.get<std::uint32_t>("the section count");
        for (std::uint32_t i = 0; i < count; ++i) {
            const std::string which = "section " + std::to_string(i);
            const auto name_size = in.get<std::uint16_t>(which + "'s name length");
            if (name_size == 0 || name_size > max_name)
                refuse(which + " has a name of " + std::to_string(name_size) + " bytes");
            const auto name = in.take(name_size, which + "'s name");
            std::string name_text(reinterpret_cast<const char*>(name.data()), name.size());
            if (result.has(name_text)) refuse("two sections are named '" + name_text + "'");
            const auto type = static_cast<element>(in.get<std::uint8_t>(which + "'s type"));
            if (type != element::float32 && type != element::float64 && type != element::uint64 &&
                type != element::text)
                refuse("section '" + name_text + "' has " + element_name(type));
            const auto values = in.get<std::uint64_t>(which + "'s count");
            const auto raw =
                in.take_array(values, element_size(type), "section '" + name_text + "'");
            result.sections_.push_back(
                {std::move(name_text), type, values, {raw.begin(), raw.end()}});
        }
        if (in.remaining() != 0)
            refuse(std::to_string(in.remaining()) + " bytes after the last section");
        return result;
    }

    std::string signature_;
    element scalar_;
    std::uint64_t param_count_;
    std::uint64_t storage_size_;
    std::vector<section> sections_;
    std::filesystem::path file_;
};

} // namespace kiln
