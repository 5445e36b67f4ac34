// The losses beyond classification (mean_squared_error, mean_absolute_error,
// binary_cross_entropy_with_logits) and softmax cross-entropy's label smoothing:
// each one's gradient against central differences in double, its value and
// gradient against PyTorch (test/golden/losses.txt, written by
// test/golden/make_golden_losses.py; a relative 1e-9 in double, 1e-5 in float),
// training and evaluation through kiln::trainer, kiln::evaluate and
// kiln::evaluator, and the check of targets where they enter.
#include <kiln/kiln.hpp>

#include "support/golden_file.hpp"
#include "support/gradient_probe.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace {

using last_layer = kiln::layer<1, kiln::linear<8>>;
using mse = kiln::mean_squared_error::bind<kiln::shape<2, 4>, last_layer>;
using mae = kiln::mean_absolute_error::bind<kiln::shape<2, 4>, last_layer>;
using bce = kiln::binary_cross_entropy_with_logits::bind<kiln::shape<2, 4>, last_layer>;
template <kiln::real_constant Smoothing>
using smoothed = typename kiln::softmax_cross_entropy::with_label_smoothing<
    Smoothing>::template bind<kiln::shape<5>, kiln::layer<1, kiln::linear<5>>>;

std::vector<double> random_values(std::size_t count, std::uint64_t seed, double spread) {
    kiln::rng random(seed);
    std::vector<double> values(count);
    for (auto& v : values)
        v = random.normal(0, spread);
    return values;
}

// The formulas of make_golden_losses.py.
std::vector<double> golden_outputs(std::size_t count) {
    std::vector<double> z(count);
    for (std::size_t i = 0; i < count; ++i)
        z[i] = 3 * std::sin(0.9 * double(i) + 0.3);
    return z;
}
std::vector<double> golden_targets(std::size_t count) {
    std::vector<double> t(count);
    for (std::size_t i = 0; i < count; ++i)
        t[i] = 2 * std::cos(0.5 * double(i) + 0.1);
    return t;
}
std::vector<kiln::label_t> golden_labels(std::size_t count) {
    std::vector<kiln::label_t> y(count);
    for (std::size_t i = 0; i < count; ++i)
        y[i] = (5 * i + 2) % 3 == 0 ? 1 : 0;
    return y;
}

// kiln's loss and gradient against PyTorch's, in double and in float.
template <class Loss, class Truth>
void check_against_torch(const std::string& name, const std::vector<double>& z,
                         const std::vector<Truth>& truth, std::size_t batch) {
    INFO(name);
    const auto golden = kiln::testing::read_golden("losses.txt");
    const auto& torch_gradient = golden.at(name + ".grad");
    REQUIRE(torch_gradient.size() == z.size());
    std::vector<double> gradient(z.size());
    kiln::testing::check_close(Loss::evaluate(z.data(), truth.data(), batch, gradient.data()),
                               golden.at(name + ".loss")[0], "loss");
    for (std::size_t i = 0; i < z.size(); ++i)
        kiln::testing::check_close(gradient[i], torch_gradient[i],
                                   "grad[" + std::to_string(i) + "]");

    const std::vector<float> z_float(z.begin(), z.end());
    std::vector<float> gradient_float(z.size());
    const float loss_float =
        Loss::evaluate(z_float.data(), truth.data(), batch, gradient_float.data());
    CHECK(loss_float == doctest::Approx(golden.at(name + ".loss")[0]).epsilon(1e-5));
    for (std::size_t i = 0; i < z.size(); ++i) {
        INFO("float grad[", i, "]");
        CHECK(std::abs(gradient_float[i] - torch_gradient[i]) <=
              1e-5 * std::max(1e-2, std::abs(torch_gradient[i])));
    }
}

} // namespace

TEST_SUITE("gradients") {
    TEST_CASE("mean_squared_error: value and gradient with respect to the outputs") {
        const auto z = random_values(3 * 8, 11, 2);
        const auto t = random_values(3 * 8, 12, 2);
        CHECK(kiln::testing::check_loss_gradient<mse>(z, t, 3) == z.size());
        double expected = 0;
        for (std::size_t i = 0; i < z.size(); ++i)
            expected += (z[i] - t[i]) * (z[i] - t[i]);
        CHECK(mse::evaluate(z.data(), t.data(), 3) == doctest::Approx(expected / 24));
        // Targets of float for a model of double are read as double.
        const std::vector<float> t_float(t.begin(), t.end());
        CHECK(mse::evaluate(z.data(), t_float.data(), 3) ==
              doctest::Approx(expected / 24).epsilon(1e-6));
    }

    TEST_CASE("mean_absolute_error: value and gradient away from the bend, 0 on it") {
        const auto z = random_values(2 * 8, 13, 2);
        const auto t = random_values(2 * 8, 14, 2);
        CHECK(kiln::testing::check_loss_gradient<mae>(z, t, 2) == z.size());
        double expected = 0;
        for (std::size_t i = 0; i < z.size(); ++i)
            expected += std::abs(z[i] - t[i]);
        CHECK(mae::evaluate(z.data(), t.data(), 2) == doctest::Approx(expected / 16));
        // On the bend, PyTorch's sign(0): no gradient.
        double gradient[8];
        CHECK(mae::evaluate(z.data(), z.data(), 1, gradient) == 0);
        for (const double g : gradient)
            CHECK(g == 0);
    }

    TEST_CASE("binary_cross_entropy_with_logits: value, gradient, and huge logits") {
        const auto z = random_values(3 * 8, 15, 3);
        const auto y = golden_labels(3 * 8);
        CHECK(kiln::testing::check_loss_gradient<bce>(z, y, 3) == z.size());
        // The definition, -y log sigma(z) - (1 - y) log(1 - sigma(z)), in long double.
        long double expected = 0;
        for (std::size_t i = 0; i < z.size(); ++i) {
            const long double sigma = 1 / (1 + std::exp(-(long double)z[i]));
            expected -= y[i] == 1 ? std::log(sigma) : std::log(1 - sigma);
        }
        CHECK(bce::evaluate(z.data(), y.data(), 3) ==
              doctest::Approx(double(expected / 24)).epsilon(1e-12));
        // No overflow either way: a wrong logit of 1000 costs 1000 per output.
        using one = kiln::binary_cross_entropy_with_logits::bind<kiln::shape<2>, last_layer>;
        const float huge[2] = {1000.f, -1000.f};
        const kiln::label_t wrong[2] = {0, 1};
        float gradient[2];
        CHECK(one::evaluate(huge, wrong, 1, gradient) == doctest::Approx(1000));
        CHECK(gradient[0] == doctest::Approx(0.5));
        CHECK(gradient[1] == doctest::Approx(-0.5));
        const kiln::label_t right[2] = {1, 0};
        CHECK(one::evaluate(huge, right, 1, gradient) == 0);
    }

    TEST_CASE("softmax cross-entropy with label smoothing: value and gradient") {
        const auto z = random_values(4 * 5, 16, 3);
        const std::vector<kiln::label_t> labels{0, 4, 2, 2};
        CHECK(kiln::testing::check_loss_gradient<smoothed<0.1>>(z, labels, 4) == z.size());
        CHECK(kiln::testing::check_loss_gradient<smoothed<1.0>>(z, labels, 4) == z.size());
        // The definition: (1 - s) (-log p_label) + s mean_c (-log p_c), in long double.
        for (const double s : {0.1, 1.0}) {
            long double expected = 0;
            for (std::size_t b = 0; b < 4; ++b) {
                long double sum = 0, minus_logs = 0;
                for (std::size_t c = 0; c < 5; ++c)
                    sum += std::exp((long double)z[b * 5 + c]);
                for (std::size_t c = 0; c < 5; ++c)
                    minus_logs += std::log(sum) - z[b * 5 + c];
                expected += (1 - s) * (std::log(sum) - z[b * 5 + labels[b]]) + s * minus_logs / 5;
            }
            const double value = s == 0.1 ? smoothed<0.1>::evaluate(z.data(), labels.data(), 4)
                                          : smoothed<1.0>::evaluate(z.data(), labels.data(), 4);
            CHECK(value == doctest::Approx(double(expected / 4)).epsilon(1e-12));
        }
        // No smoothing is the plain loss, to the bit.
        using plain = kiln::softmax_cross_entropy::bind<kiln::shape<5>, last_layer>;
        std::vector<double> g0(z.size()), g1(z.size());
        CHECK(smoothed<0.0>::evaluate(z.data(), labels.data(), 4, g0.data()) ==
              plain::evaluate(z.data(), labels.data(), 4, g1.data()));
        CHECK(g0 == g1);
    }
}

TEST_SUITE("gradients") {
    TEST_CASE("a network trained by each new loss: every parameter's gradient through the "
              "trainer, against central differences") {
        using net = kiln::sequential<kiln::input<4>, kiln::linear<5>, kiln::tanh, kiln::linear<6>>;
        const auto x = random_values(3 * 4, 17, 1);
        const auto t = random_values(3 * 6, 18, 1);
        const auto y = golden_labels(3 * 6);
        const kiln::batch_view<kiln::shape<4>, const double> inputs(x.data(), 3);
        auto check = [&]<class Loss>(std::type_identity<Loss>, auto truth) {
            INFO(Loss::name());
            kiln::model<net, double> model(kiln::init::normal{0, 0.5}, 19);
            kiln::trainer<net, Loss, kiln::sgd, double> train(model, kiln::sgd{}, 3);
            train.compute_gradients(inputs, truth);
            const std::vector<double> backprop(model.gradients().begin(), model.gradients().end());
            for (std::size_t i = 0; i < backprop.size(); ++i) {
                INFO("parameter ", i);
                const double numeric = kiln::numerical_gradient(train, inputs, truth, i, 1e-6);
                REQUIRE(kiln::testing::relative_error(backprop[i], numeric) <
                        kiln::testing::tolerance);
            }
        };
        const kiln::target_view<kiln::shape<6>, double> targets(t.data(), 3);
        check(std::type_identity<kiln::mean_squared_error>{}, targets);
        check(std::type_identity<kiln::mean_absolute_error>{}, targets);
        check(std::type_identity<kiln::binary_cross_entropy_with_logits>{},
              kiln::label_view<2, 6>(y.data(), 3));
        const std::vector<kiln::label_t> classes{5, 0, 2};
        check(std::type_identity<kiln::softmax_cross_entropy::with_label_smoothing<0.3>>{},
              kiln::label_view<6>(classes.data(), 3));
    }
}

TEST_SUITE("golden") {
    TEST_CASE("the losses compute PyTorch's values and gradients") {
        const auto z = golden_outputs(24);
        check_against_torch<mse>("mean_squared_error", z, golden_targets(24), 3);
        check_against_torch<mae>("mean_absolute_error", z, golden_targets(24), 3);
        check_against_torch<bce>("binary_cross_entropy_with_logits", z, golden_labels(24), 3);
        const std::vector<kiln::label_t> classes{1, 4, 2};
        check_against_torch<smoothed<0.1>>("smoothed_0.1", golden_outputs(15), classes, 3);
        check_against_torch<smoothed<0.25>>("smoothed_0.25", golden_outputs(15), classes, 3);
    }
}

namespace {
// y = A x + b for a fixed A (3 x 4) and b, 64 examples, in float.
struct linear_problem {
    static constexpr std::size_t count = 64;
    std::vector<float> x = std::vector<float>(count * 4), y = std::vector<float>(count * 3);
    linear_problem() {
        kiln::rng random(21);
        for (auto& v : x)
            v = static_cast<float>(random.normal(0, 1));
        for (std::size_t n = 0; n < count; ++n)
            for (std::size_t o = 0; o < 3; ++o) {
                float sum = 0.25f * float(o) - 0.5f;
                for (std::size_t i = 0; i < 4; ++i)
                    sum += std::sin(float(3 * o + i)) * x[n * 4 + i];
                y[n * 3 + o] = sum;
            }
    }
    kiln::batch_view<kiln::shape<4>, const float> inputs() const { return {x.data(), count}; }
    kiln::target_view<kiln::shape<3>> targets() const { return {y.data(), count}; }
};
} // namespace

TEST_SUITE("training") {
    TEST_CASE("a regression learns y = Ax + b with mean_squared_error, and evaluates to its mean "
              "loss") {
        using net = kiln::sequential<kiln::input<4>, kiln::linear<3>>;
        const linear_problem data;
        kiln::model<net> model(kiln::init::pytorch_default{}, 3);
        kiln::trainer<net, kiln::mean_squared_error, kiln::sgd> train(model, kiln::sgd{0.1}, 64);
        const float first = train.step(data.inputs(), data.targets());
        float last = first;
        for (int step = 0; step < 300; ++step)
            last = train.step(data.inputs(), data.targets());
        CHECK(first > 0.5f);
        CHECK(last < 1e-4f);
        // evaluate and the evaluator report the mean loss, and no accuracy.
        const float loss = train.loss(data.inputs(), data.targets());
        const kiln::evaluation result = kiln::evaluate<kiln::mean_squared_error>(
            model, train.space(), data.inputs(), data.targets());
        CHECK(result.loss == doctest::Approx(loss).epsilon(1e-5));
        CHECK(result.count == 64);
        CHECK(result.accuracy == 0);
        CHECK(result.correct == 0);
        kiln::evaluator<net, kiln::mean_squared_error> evaluator(10);
        CHECK(evaluator.mean_loss(model, data.inputs(), data.targets()) ==
              doctest::Approx(loss).epsilon(1e-5));
        CHECK(evaluator.evaluate(model, data.inputs(), data.targets()).loss ==
              doctest::Approx(loss).epsilon(1e-5));
    }

    TEST_CASE("mean_absolute_error trains an output of two axes") {
        // Any output shape: 2 x 3 outputs, compared with targets of that shape.
        using net = kiln::sequential<kiln::input<4>, kiln::linear<6>, kiln::reshape<2, 3>>;
        const linear_problem data;
        std::vector<float> wide(data.count * 6);
        for (std::size_t i = 0; i < data.y.size(); ++i)
            wide[2 * i] = wide[2 * i + 1] = data.y[i];
        const kiln::target_view<kiln::shape<2, 3>> targets(wide.data(), data.count);
        kiln::model<net> model(kiln::init::pytorch_default{}, 4);
        kiln::trainer<net, kiln::mean_absolute_error, kiln::adamw> train(
            model, kiln::adamw{.learning_rate = 0.02}, 64);
        const float first = train.step(data.inputs(), targets);
        for (int step = 0; step < 400; ++step)
            train.step(data.inputs(), targets);
        const float last = train.loss(data.inputs(), targets);
        CHECK(last < first / 10);
    }

    TEST_CASE("a step split between two cores gives the unsplit step's loss and weights") {
        // A residual makes the step split its mini-batch: the targets' rows go with it.
        using net = kiln::sequential<kiln::input<4>, kiln::linear<8>,
                                     kiln::residual<kiln::linear<8>, kiln::relu>, kiln::linear<3>>;
        const linear_problem data;
        kiln::thread_pool one(1), two(2);
        kiln::model<net, double> a(kiln::init::pytorch_default{}, 5),
            b(kiln::init::pytorch_default{}, 5);
        kiln::trainer<net, kiln::mean_squared_error, kiln::sgd, double> alone(a, kiln::sgd{0.05},
                                                                              64, one);
        kiln::trainer<net, kiln::mean_squared_error, kiln::sgd, double> split(b, kiln::sgd{0.05},
                                                                              64, two);
        std::vector<double> x(data.x.begin(), data.x.end());
        const kiln::batch_view<kiln::shape<4>, const double> inputs(x.data(), data.count);
        for (int step = 0; step < 3; ++step)
            CHECK(alone.step(inputs, data.targets()) ==
                  doctest::Approx(split.step(inputs, data.targets())).epsilon(1e-12));
        for (std::size_t i = 0; i < a.parameters().size(); ++i)
            REQUIRE(a.parameters()[i] == doctest::Approx(b.parameters()[i]).epsilon(1e-12));
    }

    TEST_CASE("binary_cross_entropy_with_logits learns several labels per example") {
        // Label o of an example: whether input o + 1 is larger than input o.
        using net = kiln::sequential<kiln::input<4>, kiln::linear<16>, kiln::relu, kiln::linear<3>>;
        const linear_problem data;
        std::vector<kiln::label_t> y(data.count * 3);
        for (std::size_t n = 0; n < data.count; ++n)
            for (std::size_t o = 0; o < 3; ++o)
                y[n * 3 + o] = data.x[n * 4 + o + 1] > data.x[n * 4 + o] ? 1 : 0;
        const kiln::label_view<2, 3> labels(y.data(), data.count);
        kiln::model<net> model(kiln::init::pytorch_default{}, 6);
        kiln::trainer<net, kiln::binary_cross_entropy_with_logits, kiln::adamw> train(
            model, kiln::adamw{.learning_rate = 0.01}, 64);
        const float first = train.step(data.inputs(), labels);
        for (int step = 0; step < 500; ++step)
            train.step(data.inputs(), labels);
        const auto result = kiln::evaluate<kiln::binary_cross_entropy_with_logits>(
            model, train.space(), data.inputs(), labels);
        CHECK(result.loss < first / 4);
        // Accuracy: the share of the 64 x 3 labels whose logit has the label's side.
        CHECK(result.accuracy > 0.95);
        CHECK(result.correct == static_cast<std::size_t>(result.accuracy * 192 + 0.5));
        std::vector<kiln::label_t> predicted(y.size());
        kiln::predict<kiln::binary_cross_entropy_with_logits>(model, train.space(), data.inputs(),
                                                              predicted);
        std::size_t same = 0;
        for (std::size_t i = 0; i < y.size(); ++i)
            same += predicted[i] == y[i];
        CHECK(same == result.correct);
    }

    TEST_CASE("label smoothing trains a classifier, and keeps its logits from running away") {
        using net = kiln::sequential<kiln::input<4>, kiln::linear<3>>;
        using smooth = kiln::softmax_cross_entropy::with_label_smoothing<0.2>;
        const linear_problem data;
        std::vector<kiln::label_t> y(data.count);
        for (std::size_t n = 0; n < data.count; ++n)
            y[n] = static_cast<kiln::label_t>(
                std::max_element(data.y.begin() + n * 3, data.y.begin() + n * 3 + 3) -
                (data.y.begin() + n * 3));
        const kiln::label_view<3> labels(y.data(), data.count);
        kiln::model<net> plain_model(kiln::init::pytorch_default{}, 7),
            smooth_model(kiln::init::pytorch_default{}, 7);
        kiln::trainer<net> plain(plain_model, kiln::sgd{0.5}, 64);
        kiln::trainer<net, smooth> smoothed_train(smooth_model, kiln::sgd{0.5}, 64);
        for (int step = 0; step < 400; ++step) {
            plain.step(data.inputs(), labels);
            smoothed_train.step(data.inputs(), labels);
        }
        const auto result =
            kiln::evaluate<smooth>(smooth_model, smoothed_train.space(), data.inputs(), labels);
        CHECK(result.accuracy > 0.9);
        // The smoothed target leaves 0.2 / 3 on the other classes, so the logits stop
        // growing once they give it; the plain loss's keep growing with the weights.
        float plain_norm = 0, smooth_norm = 0;
        for (std::size_t i = 0; i < plain_model.parameters().size(); ++i) {
            plain_norm += plain_model.parameters()[i] * plain_model.parameters()[i];
            smooth_norm += smooth_model.parameters()[i] * smooth_model.parameters()[i];
        }
        CHECK(smooth_norm < plain_norm);
    }
}

TEST_SUITE("inputs") {
    TEST_CASE("a target that is not finite is refused where it enters, naming the example") {
        std::vector<float> t{0.5f, 1, 2, 3, 4, std::numeric_limits<float>::quiet_NaN()};
        try {
            (void)kiln::target_view<kiln::shape<2>>(t.data(), 3);
            FAIL("a NaN target was taken");
        } catch (const kiln::target_error& e) {
            CHECK(e.example() == 2);
            CHECK(std::string(e.what()) ==
                  "kiln::target_view<shape<2>, float>: target nan of example 2 (at position 1 of "
                  "the example's 2) is not a finite number");
        }
        t[5] = std::numeric_limits<float>::infinity();
        CHECK_THROWS_AS((kiln::target_view<kiln::shape<6>>(t.data(), 1)), kiln::target_error);
        CHECK(kiln::target_view<kiln::shape<2>>(t.data(), 2).batch() == 2);

        // A view made with targets_checked is the caller's word: evaluate looks again.
        using net = kiln::sequential<kiln::input<2>, kiln::linear<2>>;
        kiln::model<net> model;
        kiln::workspace<net> space(3);
        const std::vector<float> x(6, 1.f);
        const kiln::batch_view<kiln::shape<2>, const float> inputs(x.data(), 3);
        const kiln::target_view<kiln::shape<2>> unchecked(t.data(), 3, kiln::targets_checked);
        CHECK_THROWS_WITH_AS(
            kiln::evaluate<kiln::mean_squared_error>(model, space, inputs, unchecked),
            "kiln::evaluate: target inf of example 2 (at position 1 of the "
            "example's 2) is not a finite number",
            kiln::target_error);
        // Fewer targets than examples.
        kiln::trainer<net, kiln::mean_squared_error> train(model, kiln::sgd{}, 3);
        CHECK_THROWS_AS(train.step(inputs, kiln::target_view<kiln::shape<2>>(x.data(), 2)),
                        std::length_error);
    }
}
