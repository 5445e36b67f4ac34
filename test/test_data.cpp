// The data layer: the IDX reader refuses every malformed file with a one-line
// data_error that names the file and the problem; labeled_set gathers and subsets;
// the Fashion-MNIST loader makes exactly the split of SEED.md part C. The tests
// write their own small files, plain and gzip, into a temporary directory.
#include <kiln/core/rng.hpp>
#include <kiln/data/char_text.hpp>
#include <kiln/data/error.hpp>
#include <kiln/data/fashion_mnist.hpp>
#include <kiln/data/idx.hpp>
#include <kiln/data/labeled_set.hpp>

#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <numeric>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using bytes = std::vector<std::uint8_t>;
using kiln::data::data_error;

// A fresh directory, removed with everything in it when the test ends.
struct temp_dir {
    fs::path path;
    temp_dir() {
        static int serial = 0;
        const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
        path = fs::temp_directory_path() / ("kiln_test_data_" + std::to_string(::getpid()) + "_" +
                                            std::to_string(serial++) + "_" + std::to_string(now));
        fs::create_directories(path);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    fs::path operator/(const std::string& name) const { return path / name; }
};

// An IDX file's bytes: magic (0, 0, type, rank), big-endian dimensions, data.
bytes idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims, const bytes& values) {
    bytes out{0, 0, type, static_cast<std::uint8_t>(dims.size())};
    for (const std::uint32_t d : dims)
        for (int shift = 24; shift >= 0; shift -= 8)
            out.push_back(static_cast<std::uint8_t>(d >> shift));
    out.insert(out.end(), values.begin(), values.end());
    return out;
}

bytes idx_bytes(const std::vector<std::uint32_t>& dims, const bytes& values) {
    return idx_bytes(0x08, dims, values);
}

// Bytes that do not compress, so a gzip stream of them is as long as they are.
bytes noise(std::size_t count, std::uint64_t seed) {
    kiln::rng generator(seed);
    bytes out(count);
    for (auto& b : out)
        b = static_cast<std::uint8_t>(generator.next() >> 56);
    return out;
}

void write_plain(const fs::path& path, const bytes& content) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(content.data()),
              static_cast<std::streamsize>(content.size()));
    REQUIRE(out.good());
}

void write_gzip(const fs::path& path, const bytes& content, const char* mode = "wb") {
    gzFile file = gzopen(path.c_str(), mode);
    REQUIRE(file != nullptr);
    if (!content.empty())
        REQUIRE(gzwrite(file, content.data(), static_cast<unsigned>(content.size())) ==
                static_cast<int>(content.size()));
    REQUIRE(gzclose(file) == Z_OK);
}

bytes read_raw(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Writes `content` as file `name` (plain) or `name.gz` (gzip) and returns its path.
fs::path write_idx(const temp_dir& dir, const std::string& name, const bytes& content, bool gzip) {
    const fs::path path = dir / (gzip ? name + ".gz" : name);
    if (gzip)
        write_gzip(path, content);
    else
        write_plain(path, content);
    return path;
}

// read_idx must throw a data_error: one line, naming the file, with `problem` in it.
void check_refused(const fs::path& path, const std::string& problem) {
    CAPTURE(path);
    try {
        (void)kiln::data::read_idx(path);
        FAIL("read_idx accepted a file with this problem: ", problem);
    } catch (const data_error& error) {
        const std::string message = error.what();
        CAPTURE(message);
        const auto at = message.find(path.string());
        CHECK(at == 0);
        CHECK(message.find(path.string(), at + 1) == std::string::npos); // not twice
        CHECK(message.find(problem) != std::string::npos);
        CHECK(message.find('\n') == std::string::npos);
    }
}

template <class F>
std::string data_error_message(F&& load) {
    try {
        load();
    } catch (const data_error& error) {
        return error.what();
    }
    return "(no data_error)";
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// What `work` throws when run by a user without special rights: in a child
// process that, when the tests run as root (who may read anything), has become
// nobody first.
template <class Work>
std::string message_as_unprivileged_user(Work&& work) {
    int pipe_ends[2];
    REQUIRE(::pipe(pipe_ends) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(pipe_ends[0]);
        std::string message = "(nothing thrown)";
        if (::geteuid() == 0 && ::setuid(65534) != 0)
            message = "(setuid failed)";
        else
            try {
                work();
            } catch (const std::exception& error) {
                message = error.what();
            }
        (void)!::write(pipe_ends[1], message.data(), message.size());
        ::_exit(0);
    }
    ::close(pipe_ends[1]);
    std::string message;
    char chunk[256];
    for (::ssize_t n; (n = ::read(pipe_ends[0], chunk, sizeof chunk)) > 0;)
        message.append(chunk, static_cast<std::size_t>(n));
    ::close(pipe_ends[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    return message;
}

// --- A synthetic Fashion-MNIST directory -------------------------------------
// Class c has 1200 + 25 c examples in the training file, in a shuffled order.
// Pixel 0 and 1 of each image hold its index in the file (low, high byte), pixel 2
// its label; the rest run over every byte value, so 0 and 255 both occur.

using image_set = kiln::data::fashion_mnist_set<float>;
constexpr std::size_t image_pixels = 28 * 28;

std::vector<std::uint8_t> synthetic_labels() {
    std::vector<std::uint8_t> labels;
    for (std::uint8_t c = 0; c < 10; ++c)
        labels.insert(labels.end(), 1200 + 25 * c, c);
    kiln::rng generator(2024);
    generator.shuffle(std::span<std::uint8_t>(labels));
    return labels;
}

bytes synthetic_images(const std::vector<std::uint8_t>& labels) {
    bytes pixels(labels.size() * image_pixels);
    for (std::size_t i = 0; i < labels.size(); ++i) {
        std::uint8_t* image = pixels.data() + i * image_pixels;
        image[0] = static_cast<std::uint8_t>(i & 0xff);
        image[1] = static_cast<std::uint8_t>(i >> 8);
        image[2] = labels[i];
        for (std::size_t p = 3; p < image_pixels; ++p)
            image[p] = static_cast<std::uint8_t>((i + p) & 0xff);
    }
    return pixels;
}

// The file index that an image of the synthetic set carries in its first pixels.
std::size_t original_index(std::span<const float, image_pixels> image) {
    return static_cast<std::size_t>(std::lround(image[0] * 255.0f)) +
           256 * static_cast<std::size_t>(std::lround(image[1] * 255.0f));
}

void write_fashion_mnist_pair(const temp_dir& dir, const std::string& prefix,
                              const std::vector<std::uint8_t>& labels, bool gzip_images) {
    const auto count = static_cast<std::uint32_t>(labels.size());
    write_idx(dir, prefix + "-images-idx3-ubyte",
              idx_bytes({count, 28, 28}, synthetic_images(labels)), gzip_images);
    write_idx(dir, prefix + "-labels-idx1-ubyte", idx_bytes({count}, labels), true);
}

// The training images go in plain (exercising the fallback from .gz), the rest gzip.
void write_synthetic_fashion_mnist(const temp_dir& dir) {
    write_fashion_mnist_pair(dir, "train", synthetic_labels(), false);
    std::vector<std::uint8_t> test_labels(30);
    for (std::size_t i = 0; i < test_labels.size(); ++i)
        test_labels[i] = static_cast<std::uint8_t>((i * 7) % 10);
    write_fashion_mnist_pair(dir, "t10k", test_labels, true);
}

std::vector<std::size_t> original_indices(const image_set& set) {
    std::vector<std::size_t> indices;
    for (std::size_t i = 0; i < set.size(); ++i)
        indices.push_back(original_index(set.inputs()[i]));
    return indices;
}

} // namespace

TEST_SUITE("data") {
    TEST_CASE("a good IDX file reads back exactly, plain and gzip") {
        temp_dir dir;
        for (const bool gzip : {false, true}) {
            CAPTURE(gzip);
            const std::vector<std::vector<std::uint32_t>> shapes{{7}, {3, 4, 5}, {2, 3, 1, 4}};
            for (const auto& dims : shapes) {
                const std::size_t count =
                    std::accumulate(dims.begin(), dims.end(), std::size_t{1}, std::multiplies<>());
                const bytes values = noise(count, count);
                const auto path = write_idx(dir, "good" + std::to_string(dims.size()),
                                            idx_bytes(dims, values), gzip);
                const auto array = kiln::data::read_idx(path);
                CHECK(array.dims == std::vector<std::size_t>(dims.begin(), dims.end()));
                CHECK(array.values == values);
            }
        }
    }

    TEST_CASE("malformed IDX files are refused with the file and the problem named") {
        temp_dir dir;
        for (const bool gzip : {false, true}) {
            CAPTURE(gzip);
            const auto write = [&](const std::string& name, const bytes& content) {
                return write_idx(dir, name, content, gzip);
            };
            check_refused(write("empty", {}), "empty file");
            check_refused(write("short_magic", {0, 0, 8}), "truncated header");
            check_refused(write("short_dims", {0, 0, 8, 3, 0, 0, 0, 2, 0, 0}), "truncated header");
            check_refused(write("magic", bytes{1, 0, 8, 1, 0, 0, 0, 1, 9}), "wrong magic");
            check_refused(write("float", idx_bytes(0x0D, {1}, {0, 0, 0, 0})), "data type 0x0d");
            check_refused(write("unknown_type", idx_bytes(0x07, {1}, {0})), "data type 0x07");
            check_refused(write("rank0", idx_bytes({}, {})), "rank 0");
            check_refused(write("rank5", idx_bytes({1, 1, 1, 1, 1}, {7})), "rank 5");
            check_refused(write("zero_dim", idx_bytes({2, 0, 3}, {})), "zero dimension");
            check_refused(write("huge", idx_bytes({65536, 65536}, {})), "too large");
            check_refused(
                write("overflow", idx_bytes({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {})),
                "too large");
            check_refused(write("truncated", idx_bytes({2, 3, 4}, noise(10, 1))),
                          "truncated: the header promises 24 bytes of data, the file has 10");
            check_refused(write("trailing", idx_bytes({2, 2}, {1, 2, 3, 4, 5, 6, 7})),
                          "trailing bytes: 3 bytes");
        }
        check_refused(dir / "does-not-exist.gz", "no such file");
        check_refused(dir.path, "directory");
    }

    TEST_CASE("a corrupt or cut gzip stream is refused") {
        temp_dir dir;
        const auto good = write_idx(dir, "good", idx_bytes({600, 1000}, noise(600000, 9)), true);
        const bytes compressed = read_raw(good);
        REQUIRE(compressed.size() > 600000);

        // Bytes flipped in the middle of the deflate data: either the stream no longer
        // decodes or its CRC no longer matches; zlib catches both.
        bytes flipped = compressed;
        for (std::size_t i = flipped.size() / 2; i < flipped.size() / 2 + 8; ++i)
            flipped[i] ^= 0x5a;
        write_plain(dir / "flipped.gz", flipped);
        check_refused(dir / "flipped.gz", "corrupt gzip stream");

        // Only the stored CRC changed: the data decode fine but do not match it.
        bytes bad_crc = compressed;
        bad_crc[bad_crc.size() - 8] ^= 0xff;
        write_plain(dir / "bad_crc.gz", bad_crc);
        check_refused(dir / "bad_crc.gz", "corrupt gzip stream");

        // The deflate block header itself broken: the first bytes out would be garbage,
        // and the corruption, not the garbage, is what is reported.
        bytes patterned(4000);
        for (std::size_t i = 0; i < patterned.size(); ++i)
            patterned[i] = static_cast<std::uint8_t>((i * i / 7 + i / 3) % 200);
        write_idx(dir, "patterned", idx_bytes({40, 100}, patterned), true);
        bytes broken_block = read_raw(dir / "patterned.gz");
        broken_block[12] ^= 0x5a; // just after the 10-byte gzip header
        broken_block[13] ^= 0x5a;
        write_plain(dir / "broken_block.gz", broken_block);
        check_refused(dir / "broken_block.gz", "corrupt gzip stream");

        // Incompressible data are stored verbatim, so a flip can hit the IDX magic
        // while the stream still decodes: the CRC, checked at the end, reveals it.
        bytes stored_magic = compressed;
        const bytes header = idx_bytes({600, 1000}, {});
        const auto at =
            std::search(stored_magic.begin(), stored_magic.end(), header.begin(), header.end());
        REQUIRE(at != stored_magic.end());
        *at = 0x01;
        write_plain(dir / "stored_magic.gz", stored_magic);
        check_refused(dir / "stored_magic.gz", "corrupt gzip stream");

        const bytes cut(compressed.begin(), compressed.begin() + compressed.size() / 2);
        write_plain(dir / "cut.gz", cut);
        check_refused(dir / "cut.gz", "truncated");
    }

    TEST_CASE("what is not a regular file is refused before a byte is read") {
        temp_dir dir;
        const auto fifo = dir / "fifo.gz";
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        check_refused(fifo, "is a FIFO (named pipe), not a regular file"); // it hung in open
        // Four zero bytes read as a magic of type 0: the reader refused it, then read
        // on to the end of the stream looking for corruption, and never got there.
        check_refused("/dev/zero", "is a character device, not a regular file");
        CHECK_THROWS_WITH_AS(kiln::data::char_text::load(fifo),
                             doctest::Contains("is a FIFO (named pipe), not a regular file"),
                             data_error);
    }

    TEST_CASE("a file or folder the user may not read is 'permission denied', not missing") {
        temp_dir dir;
        write_fashion_mnist_pair(dir, "train", std::vector<std::uint8_t>(20, 3), true);
        const auto labels = dir / "train-labels-idx1-ubyte.gz";
        REQUIRE(::chmod(labels.c_str(), 0) == 0);
        auto message = message_as_unprivileged_user([&] { (void)kiln::data::read_idx(labels); });
        CHECK(contains(message, labels.string() + ": permission denied"));
        REQUIRE(::chmod(labels.c_str(), 0644) == 0);

        REQUIRE(::chmod(dir.path.c_str(), 0) == 0); // the folder cannot be searched
        message =
            message_as_unprivileged_user([&] { (void)kiln::data::load_fashion_mnist(dir.path); });
        REQUIRE(::chmod(dir.path.c_str(), 0755) == 0);
        CHECK(contains(message, "permission denied"));
        CHECK_FALSE(contains(message, "no such file"));
    }

    TEST_CASE("bytes after the end of a gzip stream are refused; a second member is data") {
        temp_dir dir;
        const bytes content = idx_bytes({3, 4}, noise(12, 5));
        const auto good = write_idx(dir, "good", content, true);
        bytes garbage = read_raw(good);
        garbage.insert(garbage.end(), {'j', 'u', 'n', 'k', 0});
        write_plain(dir / "garbage.gz", garbage);
        check_refused(dir / "garbage.gz", "trailing bytes after the gzip stream: 5 bytes");
        bytes zeros = read_raw(good);
        zeros.resize(zeros.size() + 512); // as a tape or a careless copy pads it
        write_plain(dir / "zeros.gz", zeros);
        check_refused(dir / "zeros.gz", "trailing bytes after the gzip stream: 512 bytes");

        // gzip writes a file given twice as two members, one after the other: the
        // data are their concatenation.
        write_gzip(dir / "two.gz", bytes(content.begin(), content.begin() + 9));
        write_gzip(dir / "two.gz", bytes(content.begin() + 9, content.end()), "ab");
        CHECK(kiln::data::read_idx(dir / "two.gz").values ==
              bytes(content.begin() + 12, content.end()));
    }

    TEST_CASE("a header that promises more than the file can hold is refused before inflating") {
        temp_dir dir;
        // 100 MB promised by a gzip file of some 60 bytes: deflate packs at most
        // 1032 bytes into one.
        check_refused(write_idx(dir, "promise", idx_bytes({100, 1000, 1000}, bytes(1000)), true),
                      "impossible header: 100 x 1000 x 1000 promises 100000000 bytes of data, "
                      "more than a gzip file of");
        // A pair whose counts differ is refused from the two headers: the images'
        // data (cut short here, which reading them would report) are never read.
        const auto images =
            write_idx(dir, "images", idx_bytes({1000, 28, 28}, noise(784'000, 3)), true);
        bytes cut = read_raw(images);
        cut.resize(cut.size() / 2);
        write_plain(images, cut);
        const auto labels = write_idx(dir, "labels", idx_bytes({5}, {0, 1, 2, 3, 4}), true);
        CHECK_THROWS_WITH_AS(kiln::data::load_fashion_mnist_pair(images, labels),
                             doctest::Contains("count mismatch: 5 labels for 1000 images"),
                             data_error);
    }

    TEST_CASE("labeled_set views, gathers and subsets its examples") {
        using set_type = kiln::data::labeled_set<kiln::shape<2, 3>, 4, double>;
        set_type set(5);
        CHECK(set.size() == 5);
        for (std::size_t i = 0; i < set.size(); ++i) {
            for (std::size_t p = 0; p < 6; ++p)
                set.mutable_inputs()[i][p] = static_cast<double>(10 * i + p);
            set.mutable_labels()[i] = static_cast<kiln::label_t>(i % 4);
        }
        const auto inputs = set.inputs();
        static_assert(std::is_same_v<decltype(inputs),
                                     const kiln::batch_view<kiln::shape<2, 3>, const double>>);
        static_assert(decltype(set.labels())::classes == 4);
        CHECK(inputs.batch() == 5);
        CHECK(inputs[3][4] == 34.0);
        CHECK(set.labels()[4] == 0);

        const std::array<std::size_t, 3> chosen{4, 1, 4};
        std::array<double, 3 * 6> staging{};
        std::array<kiln::label_t, 3> staged_labels{};
        set.gather(chosen, kiln::batch_view<kiln::shape<2, 3>, double>(staging.data(), 3),
                   staged_labels.data());
        CHECK(staging[0] == 40.0);
        CHECK(staging[6 + 5] == 15.0);
        CHECK(staging[12 + 2] == 42.0);
        CHECK(staged_labels == std::array<kiln::label_t, 3>{0, 1, 0});

        const auto sub = set.subset(chosen);
        CHECK(sub.size() == 3);
        CHECK(std::equal(staging.begin(), staging.end(), sub.inputs().data()));
        CHECK(sub.labels()[1] == 1);

        const std::array<std::size_t, 1> outside{5};
        CHECK_THROWS_AS(set.gather(outside,
                                   kiln::batch_view<kiln::shape<2, 3>, double>(staging.data(), 3),
                                   staged_labels.data()),
                        std::out_of_range);
        CHECK_THROWS_AS(set.gather(chosen,
                                   kiln::batch_view<kiln::shape<2, 3>, double>(staging.data(), 2),
                                   staged_labels.data()),
                        std::invalid_argument);
    }

    TEST_CASE("a label outside a labeled set's classes is refused, naming the example") {
        // A user's own data with 1-based labels: 1..3 for 3 classes.
        kiln::data::labeled_set<kiln::shape<2>, 3> set(6);
        for (std::size_t i = 0; i < set.size(); ++i)
            set.mutable_labels()[i] = static_cast<kiln::label_t>(i % 3 + 1);
        CHECK_THROWS_WITH_AS((void)set.labels(),
                             "kiln::data::labeled_set: label 3 of example 2 is not a class in 0..2",
                             kiln::label_error);
        const std::array<std::size_t, 2> chosen{0, 5};
        std::array<float, 4> staging{};
        std::array<kiln::label_t, 2> staged{};
        CHECK_THROWS_WITH_AS(set.gather(chosen,
                                        kiln::batch_view<kiln::shape<2>, float>(staging.data(), 2),
                                        staged.data()),
                             "kiln::data::labeled_set: label 3 of example 5 is not a class in 0..2",
                             kiln::label_error);
        set.mutable_labels()[2] = -1;
        set.mutable_labels()[5] = 0;
        try {
            (void)set.labels();
            FAIL("a label of -1 passed");
        } catch (const kiln::label_error& error) {
            CHECK(error.label() == -1);
            CHECK(error.example() == 2);
        }
    }

    TEST_CASE("the Fashion-MNIST split: first 1000 per class train, last 200 validate") {
        temp_dir dir;
        write_synthetic_fashion_mnist(dir);
        const auto labels = synthetic_labels();
        std::array<std::vector<std::size_t>, 10> by_class;
        for (std::size_t i = 0; i < labels.size(); ++i)
            by_class[labels[i]].push_back(i);

        const auto data = kiln::data::load_fashion_mnist(dir.path, 42);
        REQUIRE(data.train.size() == 10'000);
        REQUIRE(data.validation.size() == 2'000);
        REQUIRE(data.test.size() == 30);

        // Validation: the last 200 of each class, class 0 first, in file order.
        std::vector<std::size_t> expected_validation;
        for (const auto& members : by_class)
            expected_validation.insert(expected_validation.end(), members.end() - 200,
                                       members.end());
        CHECK(original_indices(data.validation) == expected_validation);

        // Training: the first 1000 of each class, in class order, then shuffled by
        // kiln::rng(42) over the positions 0..9999.
        std::vector<std::size_t> class_ordered;
        for (const auto& members : by_class)
            class_ordered.insert(class_ordered.end(), members.begin(), members.begin() + 1000);
        std::vector<std::size_t> order(class_ordered.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        kiln::rng generator(42);
        generator.shuffle(std::span<std::size_t>(order));
        std::vector<std::size_t> expected_train;
        for (const std::size_t k : order)
            expected_train.push_back(class_ordered[k]);
        const auto train_indices = original_indices(data.train);
        CHECK(train_indices == expected_train);
        CHECK(train_indices != class_ordered); // it really was shuffled

        const std::set<std::size_t> train_set(train_indices.begin(), train_indices.end());
        CHECK(train_set.size() == 10'000);
        CHECK(train_set == std::set<std::size_t>(class_ordered.begin(), class_ordered.end()));
        CHECK(std::none_of(expected_validation.begin(), expected_validation.end(),
                           [&](std::size_t i) { return train_set.count(i) > 0; }));

        // Class balance, and each label is the one its image was written with.
        const auto check_labels = [&](const image_set& set, std::size_t per_class) {
            std::array<std::size_t, 10> counts{};
            bool labels_match = true;
            for (std::size_t i = 0; i < set.size(); ++i) {
                const auto label = set.labels()[i];
                labels_match &= labels[original_index(set.inputs()[i])] == label;
                if (label >= 0 && label < 10) ++counts[static_cast<std::size_t>(label)];
            }
            CHECK(labels_match);
            for (const std::size_t count : counts)
                CHECK(count == per_class);
        };
        check_labels(data.train, 1000);
        check_labels(data.validation, 200);

        // Pixels are bytes / 255: in [0, 1], with both ends reached.
        const auto pixels = std::span(data.train.inputs().data(), data.train.inputs().size());
        const auto [low, high] = std::minmax_element(pixels.begin(), pixels.end());
        CHECK(*low == 0.0f);
        CHECK(*high == 1.0f);
        CHECK(data.train.inputs()[0][2] == static_cast<float>(data.train.labels()[0]) / 255.0f);

        // The test set is the whole t10k file, in order.
        for (std::size_t i = 0; i < data.test.size(); ++i) {
            CHECK(original_index(data.test.inputs()[i]) == i);
            CHECK(data.test.labels()[i] == static_cast<kiln::label_t>((i * 7) % 10));
        }

        // The same seed gives the same order; another seed another order of the
        // same examples; validation does not depend on the seed.
        const auto again = kiln::data::load_fashion_mnist(dir.path, 42);
        CHECK(original_indices(again.train) == train_indices);
        CHECK(std::equal(again.train.inputs().data(),
                         again.train.inputs().data() + again.train.inputs().size(),
                         data.train.inputs().data()));
        const auto other = kiln::data::load_fashion_mnist<double>(dir.path, 7);
        std::vector<std::size_t> other_train;
        for (std::size_t i = 0; i < other.train.size(); ++i)
            other_train.push_back(
                static_cast<std::size_t>(std::lround(other.train.inputs()[i][0] * 255.0)) +
                256 * static_cast<std::size_t>(std::lround(other.train.inputs()[i][1] * 255.0)));
        CHECK(other_train != train_indices);
        CHECK(std::set<std::size_t>(other_train.begin(), other_train.end()) == train_set);
        CHECK(std::equal(other.validation.labels().data(), other.validation.labels().data() + 2000,
                         data.validation.labels().data()));
    }

    TEST_CASE("Fashion-MNIST files that do not fit the format are refused") {
        const auto message = [](const temp_dir& dir) {
            return data_error_message([&] { (void)kiln::data::load_fashion_mnist(dir.path); });
        };

        SUBCASE("a label that is not a class") {
            temp_dir dir;
            std::vector<std::uint8_t> labels(20, 3);
            labels[5] = 12;
            write_fashion_mnist_pair(dir, "train", labels, true);
            const auto text = message(dir);
            CHECK(contains(text, (dir / "train-labels-idx1-ubyte.gz").string()));
            CHECK(contains(text, "label 12 at index 5 is not a class in 0..9"));
        }
        SUBCASE("a class with too few examples") {
            temp_dir dir;
            std::vector<std::uint8_t> labels(20);
            for (std::size_t i = 0; i < labels.size(); ++i)
                labels[i] = static_cast<std::uint8_t>(i % 10);
            write_fashion_mnist_pair(dir, "train", labels, true);
            const auto text = message(dir);
            CHECK(contains(text, "train-labels-idx1-ubyte.gz"));
            CHECK(contains(text, "too few examples of class 0: 2"));
        }
        SUBCASE("images and labels of different counts") {
            temp_dir dir;
            write_idx(dir, "train-images-idx3-ubyte", idx_bytes({3, 28, 28}, bytes(3 * 784)), true);
            write_idx(dir, "train-labels-idx1-ubyte", idx_bytes({4}, {0, 1, 2, 3}), true);
            const auto text = message(dir);
            CHECK(contains(text, "train-labels-idx1-ubyte.gz"));
            CHECK(contains(text, "count mismatch: 4 labels for 3 images"));
        }
        SUBCASE("images that are not 28 x 28") {
            temp_dir dir;
            write_idx(dir, "train-images-idx3-ubyte", idx_bytes({2, 28, 27}, bytes(2 * 28 * 27)),
                      true);
            write_idx(dir, "train-labels-idx1-ubyte", idx_bytes({2}, {0, 1}), true);
            const auto text = message(dir);
            CHECK(contains(text, "train-images-idx3-ubyte.gz"));
            CHECK(contains(text, "wrong shape"));
            CHECK(contains(text, "2 x 28 x 27"));
        }
        SUBCASE("labels that are not a list") {
            temp_dir dir;
            write_idx(dir, "train-images-idx3-ubyte", idx_bytes({2, 28, 28}, bytes(2 * 784)), true);
            write_idx(dir, "train-labels-idx1-ubyte", idx_bytes({2, 1}, {0, 1}), true);
            CHECK(contains(message(dir), "wrong shape: expected a rank-1 list of labels"));
        }
        SUBCASE("a missing file, with or without .gz") {
            temp_dir dir;
            const auto text = message(dir);
            CHECK(contains(text, "train-labels-idx1-ubyte.gz: no such file"));
            CHECK(contains(text, "install Debian's dataset-fashion-mnist"));
            CHECK(contains(text, "--data_dir"));
        }
        SUBCASE("a test pair is read in file order") {
            temp_dir dir;
            const std::vector<std::uint8_t> labels{9, 0, 4};
            write_fashion_mnist_pair(dir, "pair", labels, false);
            const auto set = kiln::data::load_fashion_mnist_pair<double>(
                dir / "pair-images-idx3-ubyte", dir / "pair-labels-idx1-ubyte.gz");
            REQUIRE(set.size() == 3);
            CHECK(set.labels()[0] == 9);
            CHECK(set.inputs()[2][0] == 2.0 / 255.0);
            CHECK(set.inputs()[2][2] == 4.0 / 255.0);
        }
    }

    TEST_CASE("the real Fashion-MNIST, when installed") {
        const fs::path dir{kiln::data::default_fashion_mnist_dir};
        if (!fs::exists(dir)) {
            MESSAGE("skipped: " << dir.string()
                                << " does not exist (package dataset-fashion-mnist)");
            return;
        }
        const auto data = kiln::data::load_fashion_mnist();
        CHECK(data.train.size() == 10'000);
        CHECK(data.validation.size() == 2'000);
        CHECK(data.test.size() == 10'000);
        const auto class_counts = [](const image_set& set) {
            std::array<std::size_t, 10> counts{};
            const auto labels = set.labels(); // checks every label: taken once
            for (std::size_t i = 0; i < set.size(); ++i)
                ++counts[static_cast<std::size_t>(labels[i])];
            return counts;
        };
        for (const std::size_t count : class_counts(data.train))
            CHECK(count == 1000);
        for (const std::size_t count : class_counts(data.validation))
            CHECK(count == 200);
        for (const std::size_t count : class_counts(data.test))
            CHECK(count == 1000);
        const auto pixels = std::span(data.test.inputs().data(), data.test.inputs().size());
        const auto [low, high] = std::minmax_element(pixels.begin(), pixels.end());
        CHECK(*low == 0.0f);
        CHECK(*high == 1.0f);
    }
}
