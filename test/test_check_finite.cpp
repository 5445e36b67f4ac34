// Loud failures: a loss that turns NaN or infinite stops training with a
// non_finite_error that names the step and the first layer whose output was not
// finite; a finite loss passes without a scan.
#include <kiln/kiln.hpp>
#include <kiln/train/check_finite.hpp>
#include <kiln/train/kernel_perceptron.hpp>

#include <doctest/doctest.h>

#include <array>
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

    TEST_CASE("an evaluation's loss, and the weights relu hides from it, are checked") {
        setup s({.learning_rate = 0.01});
        const kiln::batch_view<image, const float> x(s.x.data(), batch);
        const kiln::label_view<10> y(s.y.data(), batch);
        kiln::workspace<mlp> space(2);
        kiln::check_finite_evaluation(kiln::evaluate(s.net, space, x, y).loss, s.net, x, 7,
                                      "the training set"); // finite: nothing to say

        // A NaN weight of the first layer: relu maps the NaN it makes to 0, so the
        // loss stays finite while a unit of the layer is lost.
        s.net.parameters_of<2>()[mlp::layer_t<2>::weight_at(5, 9)] =
            std::numeric_limits<float>::quiet_NaN();
        const auto on_train = kiln::evaluate(s.net, space, x, y);
        REQUIRE(std::isfinite(on_train.loss));
        try {
            kiln::check_finite_evaluation(on_train.loss, s.net, x, 7, "the training set");
            FAIL("a NaN weight passed");
        } catch (const kiln::non_finite_error& error) {
            MESSAGE(std::string(error.what()));
            CHECK(error.step() == 7);
            CHECK(error.layer() == 2);
            CHECK(contains(error.what(), "training stopped at step 7: the mean loss over the "
                                         "training set is "));
            CHECK(contains(error.what(), "the parameters of layer(s) 2 are not finite"));
        }

        // An infinite bias in the last layer: the loss is not finite, and the
        // examples are run again to name the layer.
        s.net.parameters_of<2>()[mlp::layer_t<2>::weight_at(5, 9)] = 0;
        s.net.parameters_of<4>()[mlp::layer_t<4>::bias_at(3)] =
            std::numeric_limits<float>::infinity();
        const auto diverged = kiln::evaluate(s.net, space, x, y);
        REQUIRE_FALSE(std::isfinite(diverged.loss));
        try {
            kiln::check_finite_evaluation(diverged.loss, s.net, x, 9, "the validation set");
            FAIL("a non-finite loss passed");
        } catch (const kiln::non_finite_error& error) {
            MESSAGE(std::string(error.what()));
            CHECK(error.layer() == 4);
            CHECK(contains(error.what(), "the first non-finite value is in the output of layer 4 "
                                         "(linear<10>), shape (10): inf (example 0 of the "
                                         "validation set, element 3)"));
        }
    }

    TEST_CASE("a step split between cores is reported from its own input, naming the layer") {
        // Stateful layers (layer norm): the step splits the batch between cores and
        // runs the parts in workspaces of their own; the report used to scan the
        // trainer's workspace, which held no pass, and named no layer. (Its input
        // was not checked either: it was never bound there.)
        using net_type =
            kiln::sequential<kiln::input<6>, kiln::linear<8>, kiln::layer_norm, kiln::linear<4>>;
        kiln::thread_pool pool(2);
        kiln::model<net_type> net(kiln::init::pytorch_default{}, 3);
        kiln::trainer<net_type> train(net, kiln::sgd{0.01}, 4, pool);
        std::vector<float> x(4 * 6, 0.25f);
        std::vector<kiln::label_t> y{0, 1, 2, 3};
        net.parameters_of<3>()[net_type::layer_t<3>::bias_at(1)] =
            std::numeric_limits<float>::infinity();
        const float loss = train.step(kiln::batch_view<kiln::shape<6>, const float>(x.data(), 4),
                                      kiln::label_view<4>(y.data(), 4));
        REQUIRE_FALSE(std::isfinite(loss));
        std::size_t parts = 0;
        train.for_each_last_pass([&](auto&) { ++parts; });
        REQUIRE(parts == 2); // the step was split
        try {
            kiln::check_finite(loss, train, 1);
            FAIL("a non-finite loss passed");
        } catch (const kiln::non_finite_error& error) {
            MESSAGE(std::string(error.what()));
            CHECK(error.layer() == 3);
            CHECK(contains(error.what(), "the output of layer 3 (linear<4>)"));
        }
    }

    TEST_CASE("a NaN in the input of a step split between cores is caught") {
        // relu maps the NaN to 0 before layer norm: only the input shows it.
        using net_type = kiln::sequential<kiln::input<6>, kiln::linear<8>, kiln::relu,
                                          kiln::layer_norm, kiln::linear<4>>;
        kiln::thread_pool pool(2);
        kiln::model<net_type> net(kiln::init::pytorch_default{}, 3);
        kiln::trainer<net_type> train(net, kiln::sgd{0.01}, 4, pool);
        std::vector<float> x(4 * 6, 0.25f);
        x[3 * 6 + 2] = std::numeric_limits<float>::quiet_NaN();
        std::vector<kiln::label_t> y{0, 1, 2, 3};
        const float loss = train.step(kiln::batch_view<kiln::shape<6>, const float>(x.data(), 4),
                                      kiln::label_view<4>(y.data(), 4));
        REQUIRE(std::isfinite(loss));
        CHECK_THROWS_WITH_AS(kiln::check_finite(loss, train, 1),
                             doctest::Contains("the input batch holds nan (example 3 of the "
                                               "batch, element 2)"),
                             kiln::non_finite_error);
    }

    TEST_CASE("the kernel perceptron stops when its kernel overflows the scalar type") {
        // (x.z + 1)^32 with x.z = 400 is 1e83: infinite in float. The scores were
        // inf - inf, and predictions an argmax over NaN, at chance, silently.
        kiln::kernel_perceptron<kiln::shape<4>, 3, kiln::polynomial_kernel> learner({32, 1.0}, 2);
        const std::array<float, 4> x{10, 10, 10, 10};
        CHECK(learner.learn(x.data(), 0, 2)); // scores 0: a mistake, x joins the support
        CHECK_THROWS_WITH_AS(learner.learn(x.data(), 1, 1),
                             doctest::Contains("training stopped at step 2, learning example 1: "
                                               "the output of layer 1 (the polynomial kernel's "
                                               "scores, the only layer) is -inf for class 0"),
                             kiln::non_finite_error);
        const std::vector<kiln::label_t> labels{2};
        CHECK_THROWS_AS(learner.accuracy(kiln::batch_view<kiln::shape<4>, const float>(x.data(), 1),
                                         kiln::label_view<3>(labels.data(), 1)),
                        kiln::non_finite_error);
        kiln::kernel_perceptron<kiln::shape<4>, 3, kiln::polynomial_kernel> modest({2, 1.0}, 2);
        CHECK(modest.learn(x.data(), 0, 2));
        CHECK_FALSE(modest.learn(x.data(), 1, 2)); // finite, and now right
    }
}
