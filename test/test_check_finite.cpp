// Loud failures: a loss that turns NaN or infinite stops training with a
// non_finite_error that names the step and the first layer whose output was not
// finite; a finite loss passes without a scan.
#include <kiln/kiln.hpp>
#include <kiln/train/check_finite.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace {

using mlp = kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear<128>, kiln::relu,
                             kiln::linear<10>>;
using image = kiln::shape<28, 28>;
constexpr std::size_t batch = 5;

struct setup {
    kiln::model<mlp> net{kiln::init::normal{0, 0.1}, 42};
    kiln::trainer<mlp> train;
    std::vector<float> x = std::vector<float>(batch * image::size);
    std::vector<kiln::label_t> y = std::vector<kiln::label_t>(batch);

    explicit setup(kiln::sgd settings) : train(net, settings, batch) {
        kiln::rng random(5);
        for (auto& v : x)
            v = static_cast<float>(random.uniform());
        for (std::size_t b = 0; b < batch; ++b)
            y[b] = static_cast<kiln::label_t>(b * 3 % 10);
    }
    float step() {
        return train.step(kiln::batch_view<image, const float>(x.data(), batch),
                          kiln::label_view<10>(y.data(), batch));
    }
};

// Runs up to `limit` steps, checking each; returns the error that stopped them.
std::optional<kiln::non_finite_error> run_checked(setup& s, std::uint64_t limit) {
    try {
        for (std::uint64_t step = 1; step <= limit; ++step)
            kiln::check_finite(s.step(), s.train, step);
    } catch (const kiln::non_finite_error& error) {
        return error;
    }
    return std::nullopt;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

} // namespace

TEST_SUITE("finite") {
    TEST_CASE("a finite loss passes every step") {
        setup s({.learning_rate = 0.01, .momentum = 0.9});
        CHECK_FALSE(run_checked(s, 50).has_value());
    }

    TEST_CASE("a NaN in the data stops training at its step, naming the input") {
        setup s({.learning_rate = 0.01});
        CHECK_FALSE(run_checked(s, 3).has_value());
        s.x[2 * image::size + 17] = std::numeric_limits<float>::quiet_NaN();
        const auto error = run_checked(s, 3);
        REQUIRE(error.has_value());
        const std::string message = error->what();
        MESSAGE(message);
        CHECK(error->step() == 1);
        CHECK(error->layer() == 0);
        CHECK(contains(message, "training stopped at step 1: the loss is "));
        CHECK(contains(
            message, "input batch holds nan (example 2 of the batch, element 17): check the data"));
        // The update already used the NaN gradient: the report says so. (Layer 4's
        // too once relu passes NaN on, as PyTorch's does; today it maps NaN to 0.)
        CHECK(contains(message, "the parameters of layer(s) 2"));
    }

    TEST_CASE("a learning rate that makes training diverge stops it, naming the layer") {
        setup s({.learning_rate = 1e10, .momentum = 0.9});
        const auto error = run_checked(s, 1000);
        REQUIRE(error.has_value());
        const std::string message = error->what();
        MESSAGE(message);
        CHECK(error->step() > 1);
        CHECK(error->layer() >= 1);
        CHECK(error->layer() <= mlp::layer_count + 1);
        CHECK(contains(message, "training stopped at step " + std::to_string(error->step())));
        if (error->layer() <= mlp::layer_count)
            CHECK(contains(message, "layer " + std::to_string(error->layer()) + " ("));
    }

    TEST_CASE("describe_non_finite names the first layer whose output is not finite") {
        setup s({.learning_rate = 0.01});
        (void)s.step();
        std::size_t layer = 99;
        auto report = kiln::describe_non_finite(s.net, s.train.space(), &layer);
        CHECK(layer == mlp::layer_count + 1);
        CHECK(contains(report, "every layer's output is finite"));

        // An infinite bias in the last layer: its output is the first that is not finite.
        s.net.parameters_of<4>()[mlp::layer_t<4>::bias_at(3)] =
            std::numeric_limits<float>::infinity();
        (void)kiln::forward(s.net, s.train.space(),
                            kiln::batch_view<image, const float>(s.x.data(), batch));
        report = kiln::describe_non_finite(s.net, s.train.space(), &layer);
        MESSAGE(report);
        CHECK(layer == 4);
        CHECK(contains(
            report,
            "output of layer 4 (linear<10>), shape (10): inf (example 0 of the batch, element 3)"));
        CHECK(contains(report, "its input (layer 3 (relu)) is finite"));
        CHECK(contains(report, "parameters of layer(s) 4 are now non-finite"));
    }
}
