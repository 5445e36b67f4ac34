// Short training runs that must learn, and must be reproducible bit for bit.
#include <kiln/data/fashion_mnist.hpp>
#include <kiln/kiln.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <numeric>
#include <vector>

namespace {

using mlp = kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear<128>, kiln::relu,
                             kiln::linear<10>>;
using image = kiln::shape<28, 28>;

// Ten noisy classes around random prototypes: learnable, but not in one step.
kiln::data::labeled_set<image, 10> synthetic(std::size_t count, std::uint64_t seed) {
    kiln::rng random(1234); // the prototypes are shared by every split
    std::vector<float> prototypes(10 * image::size);
    for (auto& p : prototypes)
        p = static_cast<float>(random.uniform());
    kiln::rng noise(seed);
    kiln::data::labeled_set<image, 10> set(count);
    for (std::size_t i = 0; i < count; ++i) {
        const auto label = static_cast<kiln::label_t>(noise.below(10));
        set.mutable_labels()[i] = label;
        for (std::size_t k = 0; k < image::size; ++k)
            set.mutable_inputs().data()[i * image::size + k] =
                prototypes[label * image::size + k] + static_cast<float>(noise.normal(0, 0.5));
    }
    return set;
}

// SGD at batch 5 over `set` for `epochs` epochs, shuffled by the seed; returns the model.
kiln::model<mlp> train_for(const kiln::data::labeled_set<image, 10>& set, std::size_t epochs,
                           std::uint64_t seed) {
    constexpr std::size_t batch = 5;
    kiln::rng random(seed);
    kiln::model<mlp> net(kiln::init::normal{0, 0.1}, random);
    kiln::trainer<mlp> train(net, kiln::sgd{.learning_rate = 0.01}, batch);
    std::vector<std::size_t> order(set.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    kiln::aligned_buffer<float> images(batch * image::size);
    std::vector<kiln::label_t> labels(batch);
    for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
        random.shuffle(std::span<std::size_t>(order));
        for (std::size_t first = 0; first + batch <= set.size(); first += batch) {
            set.gather(std::span<const std::size_t>(order).subspan(first, batch),
                       kiln::batch_view<image, float>(images.data(), batch), labels.data());
            train.step(kiln::batch_view<image, const float>(images.data(), batch),
                       kiln::label_view<10>(labels.data(), batch));
        }
    }
    return net;
}

double accuracy(const kiln::model<mlp>& net, const kiln::data::labeled_set<image, 10>& set) {
    kiln::workspace<mlp, float> space(500);
    return kiln::evaluate(net, space, set.inputs(), set.labels()).accuracy;
}

} // namespace

TEST_SUITE("training") {
    TEST_CASE("the MLP learns a synthetic ten-class problem") {
        const auto train_set = synthetic(2000, 1);
        const auto held_out = synthetic(1000, 2);
        kiln::model<mlp> untrained(kiln::init::normal{0, 0.1}, 42);
        CHECK(accuracy(untrained, held_out) < 0.3);
        const auto net = train_for(train_set, 2, 42);
        CHECK(accuracy(net, held_out) > 0.95);
    }

    TEST_CASE("the same seed gives the same model bit for bit; another seed another model") {
        const auto train_set = synthetic(500, 3);
        const auto a = train_for(train_set, 2, 7);
        const auto b = train_for(train_set, 2, 7);
        const auto c = train_for(train_set, 2, 8);
        CHECK(std::memcmp(a.parameters().data(), b.parameters().data(),
                          a.parameters().size_bytes()) == 0);
        CHECK(std::memcmp(a.parameters().data(), c.parameters().data(),
                          a.parameters().size_bytes()) != 0);
    }

    TEST_CASE(
        "Fashion-MNIST: three epochs on 5,000 training images reach 77% validation accuracy") {
        const std::filesystem::path dir{kiln::data::default_fashion_mnist_dir};
        if (!std::filesystem::exists(dir / "train-images-idx3-ubyte.gz")) {
            MESSAGE("skipped: " << dir << " is missing (apt-get install dataset-fashion-mnist)");
            return;
        }
        const auto data = kiln::data::load_fashion_mnist<float>(dir, 42);
        std::vector<std::size_t> first(5000);
        std::iota(first.begin(), first.end(), std::size_t{0});
        const auto net = train_for(data.train.subset(first), 3, 42);
        const double validation = accuracy(net, data.validation);
        MESSAGE("validation accuracy after 3 epochs on 5,000 images: " << validation);
        CHECK(validation > 0.77);
    }
}
