#pragma once
// What each fuzz target does with one input, shared by the libFuzzer programs
// (fuzz/*.cpp) and by the unit test that replays the corpus and every crash
// ever found (test/test_fuzz_replay.cpp). An input may be refused with the
// reader's own error (data_error, checkpoint_error); anything else that escapes
// (another exception, a crash, a sanitizer report) is a bug.
#include "../examples/common/json_writer.hpp"

#include <kiln/data/char_text.hpp>
#include <kiln/data/error.hpp>
#include <kiln/data/fashion_mnist.hpp>
#include <kiln/data/idx.hpp>
#include <kiln/io/checkpoint_file.hpp>
#include <kiln/kiln.hpp>
#include <kiln/train/checkpoint.hpp>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

namespace kiln::fuzz {

// The readers take paths: an input becomes a file in memory (memfd), opened
// through /proc/self/fd/N as any file would be.
class memory_file {
public:
    memory_file() : fd_(::memfd_create("kiln-fuzz", MFD_CLOEXEC)) {
        if (fd_ < 0) throw std::runtime_error("memfd_create failed");
    }
    memory_file(const memory_file&) = delete;
    memory_file& operator=(const memory_file&) = delete;
    ~memory_file() { ::close(fd_); }

    std::string set(const std::uint8_t* data, std::size_t size) {
        if (::ftruncate(fd_, 0) != 0) throw std::runtime_error("ftruncate failed");
        std::size_t done = 0;
        while (done < size) {
            const auto n = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
            if (n <= 0) throw std::runtime_error("pwrite failed");
            done += static_cast<std::size_t>(n);
        }
        return "/proc/self/fd/" + std::to_string(fd_);
    }

private:
    int fd_;
};

// IDX: the first byte picks read_idx on the rest, or a Fashion-MNIST images +
// labels pair (the rest cut in two at a point the next byte picks).
inline void idx_reader(const std::uint8_t* data, std::size_t size) {
    static memory_file images, labels;
    if (size == 0) return;
    try {
        if ((data[0] & 1) == 0 || size < 2) {
            const auto array = kiln::data::read_idx(images.set(data + 1, size - 1));
            std::size_t count = 1;
            for (const std::size_t d : array.dims)
                count *= d;
            if (count != array.values.size()) __builtin_trap(); // the reader's promise
        } else {
            const std::size_t rest = size - 2;
            const std::size_t cut = rest * data[1] / 255;
            const auto set = kiln::data::load_fashion_mnist_pair<float>(
                images.set(data + 2, cut), labels.set(data + 2 + cut, rest - cut));
            for (std::size_t i = 0; i < set.size(); ++i)
                if (static_cast<std::size_t>(set.labels()[i]) >= 10) __builtin_trap();
        }
    } catch (const kiln::data::data_error&) {
    }
}

// Character text: the loader, encode and decode, the split, and windows of a
// block the first byte picks. A loaded text must round-trip and its windows'
// targets must be the next ids.
inline void text_loader(const std::uint8_t* data, std::size_t size) {
    static memory_file file;
    if (size == 0) return;
    try {
        const auto text = kiln::data::char_text::load(file.set(data + 1, size - 1));
        if (text.vocabulary_size() == 0 || text.vocabulary_size() > 256) __builtin_trap();
        if (text.train().size() + text.validation().size() != text.text().size()) __builtin_trap();
        if (text.decode(text.ids()) != text.text()) __builtin_trap();
        const std::size_t block = 1 + data[0] % 8;
        kiln::data::require_windows(text.validation(), block, "validation");
        kiln::rng random(data[0]);
        std::vector<float> x(2 * block);
        std::vector<kiln::label_t> y(2 * block);
        kiln::data::sample_windows(text.validation(), block, 2, random, x.data(), y.data());
        for (std::size_t i = 0; i < x.size(); ++i)
            if (x[i] < 0 || x[i] >= static_cast<float>(text.vocabulary_size()) ||
                (i % block + 1 < block && static_cast<kiln::label_t>(x[i + 1]) != y[i]))
                __builtin_trap();
    } catch (const kiln::data::data_error&) {
    }
}

// The network checkpoints are tried against (small, so that a seed is small).
using tiny_mlp = kiln::sequential<kiln::input<4>, kiln::linear<3>, kiln::relu, kiln::linear<2>>;

// Checkpoints: the first byte's low bit asks to repair the size field and the
// checksum first, so that the fuzzer also reaches the parser behind them.
inline void checkpoint_loader(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return;
    std::vector<std::byte> bytes(size - 1);
    if (size > 1) std::memcpy(bytes.data(), data + 1, size - 1);
    if ((data[0] & 1) != 0 && bytes.size() >= 28) {
        for (int i = 0; i < 8; ++i)
            bytes[16 + i] =
                static_cast<std::byte>(static_cast<std::uint64_t>(bytes.size()) >> (8 * i));
        const auto crc = static_cast<std::uint32_t>(
            crc32_z(0L, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size() - 4));
        for (int i = 0; i < 4; ++i)
            bytes[bytes.size() - 4 + i] = static_cast<std::byte>(crc >> (8 * i));
    }
    try {
        const auto state = kiln::checkpoint::decode(bytes, "fuzz-input");
        // Every section, read as whatever it holds.
        for (const auto& name : state.section_names()) {
            try {
                (void)state.get_all<float>(name);
            } catch (const kiln::checkpoint_error&) {
            }
            try {
                (void)state.get_all<double>(name);
            } catch (const kiln::checkpoint_error&) {
            }
            try {
                (void)state.get_all<std::uint64_t>(name);
            } catch (const kiln::checkpoint_error&) {
            }
            try {
                (void)state.get_text(name);
            } catch (const kiln::checkpoint_error&) {
            }
        }
        (void)state.encode();
        // Then into kiln's objects, as a program resuming a run would.
        kiln::model<tiny_mlp> net;
        kiln::trainer<tiny_mlp> train(net, kiln::sgd{.learning_rate = 0.01, .momentum = 0.9}, 2);
        kiln::rng random(1);
        kiln::early_stopping stopper(3);
        try {
            kiln::restore(state, random);
        } catch (const kiln::checkpoint_error&) {
        }
        try {
            kiln::restore(state, stopper);
        } catch (const kiln::checkpoint_error&) {
        }
        // The data the run read: the batch below (fuzz/make_seeds.py writes its
        // fingerprint into the seed "training", so that a mutation gets past it).
        const float x[8] = {0.5f, -1.0f, 2.0f, 0.25f, 1.0f, 0.0f, -0.5f, 3.0f};
        const kiln::label_t y[2] = {0, 1};
        const kiln::batch_view<kiln::shape<4>, const float> inputs(x, 2);
        const kiln::label_view<2> labels(y, 2);
        try {
            kiln::expect_same_data(state, kiln::data::fingerprint_of(inputs, labels), "data.train",
                                   "--force_resume");
        } catch (const kiln::checkpoint_error&) {
        }
        kiln::restore(state, train);
        // A restored model must run.
        (void)train.step(inputs, labels);
    } catch (const kiln::checkpoint_error&) {
    }
}

// Results files (examples/common/json_writer.hpp), as gpt writes its samples: the
// first byte cuts the rest into a key and a string of any bytes, and the rest is
// read as doubles too. The text must be strict JSON (nlohmann's parse checks
// UTF-8); a string that is UTF-8 comes back unchanged, any other with U+FFFD
// where it is not; a number comes back exactly, or as null when it is not finite.
inline void results_json(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return;
    const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t cut = rest.size() * data[0] / 255;
    const std::string key = rest.substr(0, cut), value = rest.substr(cut);
    std::vector<double> numbers(rest.size() / sizeof(double));
    if (!numbers.empty()) std::memcpy(numbers.data(), rest.data(), numbers.size() * sizeof(double));

    kiln::examples::json_object inner;
    inner.string(key, value).number(value, numbers.empty() ? 0.0 : numbers[0]);
    kiln::examples::json_object results;
    results.string(key, value)
        .object("inner", inner)
        .numbers("numbers", numbers)
        .string("sample", value);
    const auto parsed = nlohmann::json::parse(results.text()); // throws on invalid JSON
    bool utf8 = true;
    try {
        (void)nlohmann::json(value).dump();
    } catch (const nlohmann::json::type_error&) {
        utf8 = false;
    }
    const std::string sample = parsed.at("sample").get<std::string>();
    if (utf8 ? sample != value : sample.find("\xef\xbf\xbd") == std::string::npos) __builtin_trap();
    const auto& list = parsed.at("numbers");
    if (list.size() != numbers.size()) __builtin_trap();
    for (std::size_t i = 0; i < numbers.size(); ++i)
        if (std::isfinite(numbers[i]) ? list[i].get<double>() != numbers[i] : !list[i].is_null())
            __builtin_trap();
}

} // namespace kiln::fuzz
