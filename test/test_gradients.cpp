// Every layer's backward, the loss's, and whole networks', against central
// differences in double. Pass: |backprop - numeric| / max(|backprop|, |numeric|, 0.01)
// below 1e-6 for every parameter and every input.
#include <kiln/kiln.hpp>

#include "support/gradient_probe.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

namespace {
using kiln::testing::eps;
using kiln::testing::probe;
using kiln::testing::relative_error;
using kiln::testing::tolerance;
} // namespace

TEST_SUITE("gradients") {
    TEST_CASE("linear on vectors") {
        probe<kiln::sequential<kiln::input<7>, kiln::linear<5>>>{}.check();
    }
    TEST_CASE("linear on a sequence acts on the last axis") {
        probe<kiln::sequential<kiln::input<3, 6>, kiln::linear<4>>>{}.check();
    }
    TEST_CASE("linear without bias") {
        probe<kiln::sequential<kiln::input<6>, kiln::linear_no_bias<5>>>{}.check();
    }
    TEST_CASE("relu") {
        probe<kiln::sequential<kiln::input<4>, kiln::linear<9>, kiln::relu>>{}.check();
    }
    TEST_CASE("flatten passes the gradient through") {
        probe<kiln::sequential<kiln::input<3, 4>, kiln::flatten, kiln::linear<2>>>{}.check();
    }
    TEST_CASE("a deeper stack") {
        probe<kiln::sequential<kiln::input<2, 5>, kiln::linear<6>, kiln::relu, kiln::flatten,
                               kiln::linear<7>, kiln::relu, kiln::linear_no_bias<3>>>{}
            .check();
    }

    TEST_CASE("softmax_cross_entropy: value and gradient with respect to the logits") {
        using loss =
            kiln::softmax_cross_entropy::bind<kiln::shape<6>, kiln::layer<1, kiln::linear<6>>>;
        constexpr std::size_t batch = 4;
        kiln::rng random(9);
        std::vector<double> logits(batch * 6), gradient(batch * 6);
        for (auto& z : logits)
            z = random.normal(0, 3);
        const kiln::label_t labels[batch] = {0, 5, 2, 2};
        const double value = loss::evaluate(logits.data(), labels, batch, gradient.data());

        // The value by the definition, in long double.
        long double expected = 0;
        for (std::size_t b = 0; b < batch; ++b) {
            long double sum = 0;
            for (std::size_t k = 0; k < 6; ++k)
                sum += std::exp((long double)logits[b * 6 + k]);
            expected += std::log(sum) - logits[b * 6 + labels[b]];
        }
        CHECK(value == doctest::Approx(double(expected / batch)).epsilon(1e-12));

        for (std::size_t i = 0; i < logits.size(); ++i) {
            const double saved = logits[i];
            logits[i] = saved + eps;
            const double plus = loss::evaluate(logits.data(), labels, batch);
            logits[i] = saved - eps;
            const double minus = loss::evaluate(logits.data(), labels, batch);
            logits[i] = saved;
            REQUIRE(relative_error(gradient[i], (plus - minus) / (2 * eps)) < tolerance);
        }
    }

    TEST_CASE("softmax_cross_entropy is stable for huge logits") {
        using loss =
            kiln::softmax_cross_entropy::bind<kiln::shape<3>, kiln::layer<1, kiln::linear<3>>>;
        const float logits[3] = {1000.f, -1000.f, 0.f};
        float gradient[3];
        const kiln::label_t label[1] = {0};
        CHECK(loss::evaluate(logits, label, 1, gradient) == doctest::Approx(0.0));
        CHECK(std::isfinite(gradient[1]));
    }

    TEST_CASE("a whole MLP with its loss, through the trainer") {
        using net_type =
            kiln::sequential<kiln::input<20>, kiln::linear<16>, kiln::relu, kiln::linear<5>>;
        kiln::model<net_type, double> net(kiln::init::normal{0, 0.3}, 3);
        kiln::trainer<net_type, kiln::softmax_cross_entropy, kiln::sgd, double> train(
            net, kiln::sgd{}, 4);
        kiln::rng random(2);
        std::vector<double> x(4 * 20);
        for (auto& v : x)
            v = random.uniform();
        const kiln::label_t labels[4] = {1, 4, 0, 1};
        const kiln::batch_view<kiln::shape<20>, const double> inputs(x.data(), 4);
        const kiln::label_view<5> targets(labels, 4);
        train.compute_gradients(inputs, targets);
        const std::vector<double> gradient(net.gradients().begin(), net.gradients().end());
        for (std::size_t i = 0; i < gradient.size(); ++i) {
            INFO("parameter ", i);
            REQUIRE(relative_error(gradient[i], kiln::numerical_gradient(train, inputs, targets, i,
                                                                         eps)) < tolerance);
        }
    }

    TEST_CASE("the course's MLP, sampled entries of every layer") {
        using mlp =
            kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;
        kiln::model<mlp, double> net(kiln::init::normal{0, 0.1}, 42);
        kiln::trainer<mlp, kiln::softmax_cross_entropy, kiln::sgd, double> train(net, kiln::sgd{},
                                                                                 5);
        kiln::rng random(8);
        std::vector<double> x(5 * 784);
        for (auto& v : x)
            v = random.uniform();
        const kiln::label_t labels[5] = {3, 1, 4, 1, 5};
        const kiln::batch_view<kiln::shape<784>, const double> inputs(x.data(), 5);
        const kiln::label_view<10> targets(labels, 5);
        train.compute_gradients(inputs, targets);
        const std::vector<double> gradient(net.gradients().begin(), net.gradients().end());
        for (std::size_t j = 0; j < 300; ++j) {
            const std::size_t i = (j * 7919) % gradient.size();
            INFO("parameter ", i);
            REQUIRE(relative_error(gradient[i], kiln::numerical_gradient(train, inputs, targets, i,
                                                                         eps)) < tolerance);
        }
    }
}
