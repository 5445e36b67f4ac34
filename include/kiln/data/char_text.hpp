#pragma once
// kiln::data::char_text: a text as a character-level language model sees it, as
// the course builds it: the vocabulary is the sorted set of distinct bytes of
// the text, each encoded as its index; the first 90% of the encoded text is the
// training split, the rest the validation split. sample_windows draws the
// course's random batches: B windows of `block` ids and the same windows shifted
// by one as targets.
#include "kiln/core/checked_size.hpp"
#include "kiln/core/rng.hpp"
#include "kiln/core/tensor.hpp"
#include "kiln/data/error.hpp"
#include "kiln/io/regular_file.hpp"

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace kiln::data {

class char_text {
public:
    // The text from a file; a missing, unreadable or empty file, or one that is not
    // a regular file (a FIFO would block), is a data_error.
    [[gnu::cold]] static char_text load(const std::filesystem::path& path) {
        regular_file file(path);
        if (!file.is_open())
            throw data_error(path,
                             file.error_number() == ENOENT ? "no such text file" : file.problem());
        std::string text;
        try {
            // As large as the file says (refused when larger than memory), then on
            // to its end, should it have grown.
            text.resize(checked_count<char>(file.size(), "the text " + path.string()));
            text.resize(file.read(text.data(), text.size()));
            char more[4096];
            while (const std::size_t n = file.read(more, sizeof more))
                text.append(more, n);
        } catch (const std::system_error& failure) {
            throw data_error(path, "read error: " + failure.code().message());
        }
        return char_text(std::move(text), path);
    }

    // `origin` names the text in errors.
    [[gnu::cold]] explicit char_text(std::string text, const std::filesystem::path& origin = "text")
        : text_(std::move(text)) {
        if (text_.empty()) throw data_error(origin, "the text is empty");
        std::array<bool, 256> seen{};
        for (const char c : text_)
            seen[static_cast<unsigned char>(c)] = true;
        index_.fill(-1);
        for (std::size_t c = 0; c < seen.size(); ++c)
            if (seen[c]) {
                index_[c] = static_cast<int>(vocabulary_.size());
                vocabulary_ += static_cast<char>(c);
            }
        ids_ = encode(text_);
        split_ = ids_.size() * 9 / 10; // int(0.9 * n), exactly for any n
    }

    const std::string& text() const noexcept { return text_; }
    // The distinct characters, sorted by byte value: id i is vocabulary()[i].
    const std::string& vocabulary() const noexcept { return vocabulary_; }
    std::size_t vocabulary_size() const noexcept { return vocabulary_.size(); }

    // Ids of s; a character the text does not hold is a data_error.
    [[gnu::cold]] std::vector<std::uint8_t> encode(std::string_view s) const {
        std::vector<std::uint8_t> ids;
        ids.reserve(s.size());
        for (const char c : s) {
            const int id = index_[static_cast<unsigned char>(c)];
            if (id < 0)
                throw data_error("encode: the character with byte value " +
                                 std::to_string(static_cast<unsigned char>(c)) +
                                 " is not in the text's vocabulary");
            ids.push_back(static_cast<std::uint8_t>(id));
        }
        return ids;
    }
    // The text of ids; an id past the vocabulary is a data_error.
    template <class Id>
    [[gnu::cold]] std::string decode(std::span<const Id> ids) const {
        std::string s;
        s.reserve(ids.size());
        for (const Id id : ids) {
            bool negative = false;
            if constexpr (std::is_signed_v<Id>) negative = id < Id{0};
            const auto i = static_cast<std::size_t>(id);
            if (negative || i >= vocabulary_.size())
                throw data_error("decode: id " + std::to_string(i) + " is past the vocabulary of " +
                                 std::to_string(vocabulary_.size()));
            s += vocabulary_[i];
        }
        return s;
    }

    std::span<const std::uint8_t> ids() const noexcept { return ids_; }
    std::span<const std::uint8_t> train() const noexcept { return {ids_.data(), split_}; }
    std::span<const std::uint8_t> validation() const noexcept {
        return {ids_.data() + split_, ids_.size() - split_};
    }

private:
    std::string text_;
    std::string vocabulary_;
    std::array<int, 256> index_{};
    std::vector<std::uint8_t> ids_;
    std::size_t split_ = 0;
};

// Refuses a split too short for one window of `block` ids and its shifted targets.
[[gnu::cold]] inline void require_windows(std::span<const std::uint8_t> split, std::size_t block,
                                          std::string_view name) {
    if (split.size() <= block)
        throw data_error(std::string(name) + " split: " + std::to_string(split.size()) +
                         " characters cannot hold a window of " + std::to_string(block) +
                         " and its next character");
}

// The course's get_batch: for each of `batch` examples a start i uniform in
// [0, size - block); x = ids[i, i + block) as T, y = ids[i + 1, i + block + 1].
// The split must hold a window (require_windows).
template <class T>
void sample_windows(std::span<const std::uint8_t> split, std::size_t block, std::size_t batch,
                    rng& random, T* x, label_t* y) noexcept {
    for (std::size_t b = 0; b < batch; ++b) {
        const std::size_t start = random.below(split.size() - block);
        for (std::size_t t = 0; t < block; ++t) {
            x[b * block + t] = static_cast<T>(split[start + t]);
            y[b * block + t] = static_cast<label_t>(split[start + t + 1]);
        }
    }
}

} // namespace kiln::data
