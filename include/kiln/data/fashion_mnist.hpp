#pragma once
// Fashion-MNIST as the course splits it (SEED.md part C), shared bit for bit with
// the PyTorch peer:
//   training   = the first 1000 images of each class in the 60k file, class 0 first,
//                then shuffled once by kiln::rng(seed);
//   validation = the last 200 images of each class in the same file, class 0 first;
//   test       = the whole 10k file, in order.
// Pixels are divided by 255.
#include "kiln/core/rng.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/tensor.hpp"
#include "kiln/data/error.hpp"
#include "kiln/data/idx.hpp"
#include "kiln/data/labeled_set.hpp"
#include "kiln/io/regular_file.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::data {

using fashion_mnist_image = shape<28, 28>;
inline constexpr std::size_t fashion_mnist_classes = 10;
inline constexpr std::size_t fashion_mnist_train_per_class = 1000;
inline constexpr std::size_t fashion_mnist_validation_per_class = 200;

template <class T = float>
using fashion_mnist_set = labeled_set<fashion_mnist_image, fashion_mnist_classes, T>;

// Where Debian's dataset-fashion-mnist package puts the files.
inline constexpr std::string_view default_fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

template <class T = float>
struct fashion_mnist {
    fashion_mnist_set<T> train, validation, test;
};

namespace detail {

// An images file and its labels file, read and checked against each other.
struct checked_idx_pair {
    idx_array images, labels;
    std::size_t count = 0;
};

[[gnu::cold]] inline checked_idx_pair
read_fashion_mnist_pair(const std::filesystem::path& images_path,
                        const std::filesystem::path& labels_path) {
    // Both headers first: a count that does not match is refused before either
    // file's data is read (a small gzip of zeros can inflate to a gigabyte).
    idx_stream images(images_path), labels(labels_path);
    idx_header image_header = read_idx_header(images);
    idx_header label_header = read_idx_header(labels);
    const auto& image_dims = image_header.dims;
    if (image_dims.size() != 3 || image_dims[1] != fashion_mnist_image::dims[0] ||
        image_dims[2] != fashion_mnist_image::dims[1])
        throw data_error(images_path, "wrong shape: expected N x 28 x 28 images, found " +
                                          dims_text(image_dims));
    if (label_header.dims.size() != 1)
        throw data_error(labels_path, "wrong shape: expected a rank-1 list of labels, found " +
                                          dims_text(label_header.dims));
    const std::size_t count = image_dims[0];
    if (label_header.dims[0] != count)
        throw data_error(labels_path, "count mismatch: " + std::to_string(label_header.dims[0]) +
                                          " labels for " + std::to_string(count) + " images in " +
                                          images_path.string());

    // The labels next, the smaller file: a label that is not a class is refused
    // before the images are read.
    checked_idx_pair pair;
    pair.count = count;
    pair.labels = read_idx_data(labels, std::move(label_header));
    for (std::size_t i = 0; i < pair.count; ++i)
        if (pair.labels.values[i] >= fashion_mnist_classes)
            throw data_error(labels_path, "label " + std::to_string(pair.labels.values[i]) +
                                              " at index " + std::to_string(i) +
                                              " is not a class in 0.." +
                                              std::to_string(fashion_mnist_classes - 1));
    pair.images = read_idx_data(images, std::move(image_header));
    return pair;
}

// The chosen examples of a checked pair, pixels scaled to [0, 1], in the order given.
template <class T>
fashion_mnist_set<T> select_examples(const checked_idx_pair& pair,
                                     std::span<const std::size_t> indices) {
    constexpr std::size_t pixels = fashion_mnist_image::size;
    fashion_mnist_set<T> set(indices.size());
    const auto inputs = set.mutable_inputs();
    const auto labels = set.mutable_labels();
    for (std::size_t row = 0; row < indices.size(); ++row) {
        const std::uint8_t* source = pair.images.values.data() + indices[row] * pixels;
        // Divided in T, as `images.float() / 255` is in the PyTorch peer.
        for (std::size_t p = 0; p < pixels; ++p)
            inputs[row][p] = static_cast<T>(source[p]) / static_cast<T>(255);
        labels[row] = static_cast<label_t>(pair.labels.values[indices[row]]);
    }
    return set;
}

// Whether `path` names something; any problem other than its absence (a folder
// the user may not search) is thrown as what it is, not as a missing file.
[[gnu::cold]] inline bool names_a_file(const std::filesystem::path& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (status.type() == std::filesystem::file_type::not_found) return false;
    if (ec) throw data_error(path, file_problem_text(ec.value()));
    return true;
}

// The file as named, or, when that is missing, the same name without ".gz"; when
// both are missing, the error says where the files come from.
[[gnu::cold]] inline std::filesystem::path find_fashion_mnist_file(const std::filesystem::path& dir,
                                                                   std::string_view gz_name) {
    std::filesystem::path gz = dir / gz_name;
    if (names_a_file(gz)) return gz;
    std::filesystem::path plain = gz;
    plain.replace_extension();
    if (names_a_file(plain)) return plain;
    throw data_error(gz, "no such file (nor " + plain.filename().string() +
                             " without .gz): install Debian's dataset-fashion-mnist, or pass the "
                             "folder that holds the files (the examples' --data_dir)");
}

} // namespace detail

// A test-style pair, every example in file order: used for the 10k test file, and
// for any other images + labels pair of the same format (e.g. a shifted test set).
template <class T = float>
[[gnu::cold]] fashion_mnist_set<T>
load_fashion_mnist_pair(const std::filesystem::path& images_path,
                        const std::filesystem::path& labels_path) {
    const auto pair = detail::read_fashion_mnist_pair(images_path, labels_path);
    std::vector<std::size_t> all(pair.count);
    std::iota(all.begin(), all.end(), std::size_t{0});
    return detail::select_examples<T>(pair, all);
}

template <class T = float>
[[gnu::cold]] fashion_mnist<T>
load_fashion_mnist(const std::filesystem::path& dir = default_fashion_mnist_dir,
                   std::uint64_t seed = 42) {
    constexpr std::size_t needed_per_class =
        fashion_mnist_train_per_class + fashion_mnist_validation_per_class;
    const auto train_labels_path =
        detail::find_fashion_mnist_file(dir, "train-labels-idx1-ubyte.gz");
    const auto train = detail::read_fashion_mnist_pair(
        detail::find_fashion_mnist_file(dir, "train-images-idx3-ubyte.gz"), train_labels_path);

    // Each class's examples, in file order.
    std::array<std::vector<std::size_t>, fashion_mnist_classes> by_class;
    for (std::size_t i = 0; i < train.count; ++i)
        by_class[train.labels.values[i]].push_back(i);
    for (std::size_t c = 0; c < fashion_mnist_classes; ++c)
        if (by_class[c].size() < needed_per_class)
            throw data_error(train_labels_path,
                             "too few examples of class " + std::to_string(c) + ": " +
                                 std::to_string(by_class[c].size()) + ", the split needs " +
                                 std::to_string(needed_per_class) + " (" +
                                 std::to_string(fashion_mnist_train_per_class) + " training + " +
                                 std::to_string(fashion_mnist_validation_per_class) +
                                 " validation)");

    std::vector<std::size_t> train_indices, validation_indices;
    train_indices.reserve(fashion_mnist_classes * fashion_mnist_train_per_class);
    validation_indices.reserve(fashion_mnist_classes * fashion_mnist_validation_per_class);
    for (const auto& members : by_class) {
        train_indices.insert(train_indices.end(), members.begin(),
                             members.begin() + fashion_mnist_train_per_class);
        validation_indices.insert(validation_indices.end(),
                                  members.end() - fashion_mnist_validation_per_class,
                                  members.end());
    }

    // The one shuffle, over positions 0..9999 of the class-ordered training list, so
    // that any implementation of kiln::rng reproduces the order.
    std::vector<std::size_t> order(train_indices.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    rng generator(seed);
    generator.shuffle(std::span<std::size_t>(order));
    std::vector<std::size_t> shuffled(order.size());
    for (std::size_t k = 0; k < order.size(); ++k)
        shuffled[k] = train_indices[order[k]];

    return {detail::select_examples<T>(train, shuffled),
            detail::select_examples<T>(train, validation_indices),
            load_fashion_mnist_pair<T>(
                detail::find_fashion_mnist_file(dir, "t10k-images-idx3-ubyte.gz"),
                detail::find_fashion_mnist_file(dir, "t10k-labels-idx1-ubyte.gz"))};
}

} // namespace kiln::data
