// Every layer's backward, the loss's, and whole networks', against central
// differences in double. Pass: |backprop - numeric| / max(|backprop|, |numeric|, 0.01)
// below 1e-6 for every parameter and every input.
#include <kiln/kiln.hpp>

#include "support/gradient_probe.hpp"

#include <doctest/doctest.h>

#include "support/gradient_probe.hpp"

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

    TEST_CASE("conv1d on a sequence of one channel") {
        probe<kiln::sequential<kiln::input<9>, kiln::conv1d<4, 3>>>{}.check();
    }
    TEST_CASE("conv1d on several channels, then relu and a linear layer") {
        probe<kiln::sequential<kiln::input<7, 3>, kiln::conv1d<5, 2>, kiln::relu, kiln::flatten,
                               kiln::linear<2>>>{}
            .check();
    }
    TEST_CASE("conv1d without bias: the mini CNN of the course") {
        probe<kiln::sequential<kiln::input<3>, kiln::conv1d_no_bias<1, 2>, kiln::relu,
                               kiln::flatten, kiln::linear_no_bias<1>>>{}
            .check();
    }

    TEST_CASE("conv1d with stride, padding and dilation, as PyTorch's Conv1d") {
        probe<kiln::sequential<kiln::input<9, 2>, kiln::conv1d<3, 3, 2>>>{}.check();
        probe<kiln::sequential<kiln::input<8, 3>, kiln::conv1d<4, 3, 1, kiln::same>, kiln::relu,
                               kiln::conv1d_no_bias<2, 4, 1, kiln::same>, kiln::flatten,
                               kiln::linear<2>>>{}
            .check();
        probe<kiln::sequential<kiln::input<7, 2>, kiln::conv1d<3, 2, 3, 2, 2>>>{}.check();
        probe<kiln::sequential<kiln::input<9>, kiln::conv1d<3, 3, 1, 0, 3>>>{}.check();
    }
    TEST_CASE("conv2d with `same` padding: the frame and the inside, every parameter and input") {
        probe<kiln::sequential<kiln::input<6, 5, 2>, kiln::conv2d<3, 3, 1, kiln::same>>>{}.check();
        // An even kernel pads one more after; relu fused between two padded layers.
        probe<kiln::sequential<kiln::input<5, 6, 3>, kiln::conv2d<5, 2, 1, kiln::same>, kiln::relu,
                               kiln::conv2d<4, 3, 1, kiln::same>>>{}
            .check();
    }
    TEST_CASE("conv2d with explicit padding and stride, and padding that leaves no inside") {
        probe<kiln::sequential<kiln::input<7, 6, 2>, kiln::conv2d<4, 3, 2, 1>>>{}.check();
        probe<kiln::sequential<kiln::input<2, 3>, kiln::conv2d<3, 3, 1, 2>>>{}.check();
    }
    TEST_CASE("depthwise_conv2d: one filter per channel, and three, padded, strided, dilated") {
        probe<kiln::sequential<kiln::input<6, 5, 3>, kiln::depthwise_conv2d<1, 3>>>{}.check();
        probe<kiln::sequential<kiln::input<6, 5, 2>, kiln::depthwise_conv2d<3, 3, 1, kiln::same>,
                               kiln::relu, kiln::depthwise_conv2d<1, 2, 2, 1>>>{}
            .check();
        probe<kiln::sequential<kiln::input<7, 8, 5>, kiln::depthwise_conv2d<1, 3, 1, kiln::same, 2>,
                               kiln::flatten, kiln::linear<2>>>{}
            .check();
        // Padding that leaves no pixel inside, on one channel.
        probe<kiln::sequential<kiln::input<2, 3>, kiln::depthwise_conv2d<2, 3, 1, 2>>>{}.check();
        // 18 output channels, two a channel: a register of them and a tail.
        probe<kiln::sequential<kiln::input<5, 5, 9>, kiln::depthwise_conv2d<2, 3, 1, kiln::same>>>{}
            .check();
    }
    TEST_CASE("conv_transpose2d: stride, padding, output padding; a decoder of two") {
        probe<kiln::sequential<kiln::input<3, 4, 2>, kiln::conv_transpose2d<3, 3, 2, 1, 1>>>{}
            .check();
        probe<
            kiln::sequential<kiln::input<4, 3, 3>, kiln::conv_transpose2d<2, 2, 2>, kiln::relu,
                             kiln::conv_transpose2d<3, 3, 1, 1>, kiln::flatten, kiln::linear<2>>>{}
            .check();
        // One channel in (a rank-2 input), a kernel smaller than the stride (gaps stay bias).
        probe<kiln::sequential<kiln::input<3, 3>, kiln::conv_transpose2d<2, 2, 3, 0, 2>>>{}.check();
    }
    TEST_CASE("upsample2d: each block's gradient summed into its pixel") {
        probe<kiln::sequential<kiln::input<3, 2, 3>, kiln::upsample2d<2>, kiln::flatten,
                               kiln::linear<2>>>{}
            .check();
        probe<kiln::sequential<kiln::input<2, 3>, kiln::upsample2d<3>, kiln::conv2d<2, 2>>>{}
            .check();
    }
    TEST_CASE("conv2d with dilation, alone and with padding") {
        probe<kiln::sequential<kiln::input<7, 8, 2>, kiln::conv2d<3, 3, 1, 0, 2>>>{}.check();
        probe<kiln::sequential<kiln::input<6, 6, 2>, kiln::conv2d<4, 3, 1, kiln::same, 2>,
                               kiln::relu, kiln::conv2d<2, 2, 2, 1, 3>>>{}
            .check();
    }

    TEST_CASE("avg_pool2d: odd sizes round down, each window's gradient spread evenly") {
        probe<kiln::sequential<kiln::input<7, 5, 3>, kiln::avg_pool2d<2>, kiln::flatten,
                               kiln::linear<2>>>{}
            .check();
        probe<kiln::sequential<kiln::input<6, 6, 9>, kiln::conv2d<11, 2>, kiln::relu,
                               kiln::avg_pool2d<3>, kiln::flatten, kiln::linear<2>>>{}
            .check();
    }
    TEST_CASE("global_avg_pool2d: each channel's mean, on one channel and many") {
        probe<kiln::sequential<kiln::input<5, 4>, kiln::global_avg_pool2d, kiln::linear<2>>>{}
            .check();
        probe<kiln::sequential<kiln::input<4, 3, 2>, kiln::conv2d<19, 2, 1, kiln::same>, kiln::relu,
                               kiln::global_avg_pool2d, kiln::linear<3>>>{}
            .check();
    }

    TEST_CASE("prelu with one slope") {
        probe<kiln::sequential<kiln::input<3, 5>, kiln::linear<6>, kiln::prelu<>, kiln::flatten,
                               kiln::linear<2>>>{}
            .check();
    }
    TEST_CASE("prelu with a slope per feature, and per channel of an image") {
        probe<
            kiln::sequential<kiln::input<7>, kiln::linear<19>, kiln::prelu<19>, kiln::linear<3>>>{}
            .check();
        probe<kiln::sequential<kiln::input<6, 5, 2>, kiln::conv2d<3, 2>, kiln::prelu<3>,
                               kiln::max_pool2d<2>, kiln::flatten, kiln::linear<2>>>{}
            .check();
    }
    TEST_CASE("softmax over the last axis") {
        probe<kiln::sequential<kiln::input<3, 4>, kiln::linear<19>, kiln::softmax>>{}.check();
        probe<kiln::sequential<kiln::input<6>, kiln::softmax, kiln::linear<3>>>{}.check();
    }

    TEST_CASE("logistic: value and gradient with respect to the score") {
        using loss = kiln::logistic::bind<kiln::shape<1>, kiln::layer<1, kiln::linear<1>>>;
        kiln::rng random(4);
        std::vector<double> scores(6);
        for (auto& s : scores)
            s = random.normal(0, 3);
        const std::vector<kiln::label_t> labels{1, -1, -1, 1, 1, -1};
        CHECK(kiln::testing::check_loss_gradient<loss>(scores, labels, labels.size()) > 0);
        // ln(1 + e^-ys) by the definition, and no overflow for huge margins.
        const double one[1] = {0.7};
        const kiln::label_t minus[1] = {-1};
        CHECK(loss::evaluate(one, minus, 1) == doctest::Approx(std::log1p(std::exp(0.7))));
        const double huge[1] = {-1000};
        double g[1];
        const kiln::label_t plus[1] = {1};
        CHECK(loss::evaluate(huge, plus, 1, g) == doctest::Approx(1000));
        CHECK(g[0] == doctest::Approx(-1));
    }

    TEST_CASE("multiclass_perceptron: value and gradient away from ties") {
        using loss = kiln::multiclass_perceptron::bind<kiln::shape<5>,
                                                       kiln::layer<1, kiln::linear_no_bias<5>>>;
        kiln::rng random(6);
        std::vector<double> scores(4 * 5);
        for (auto& s : scores)
            s = random.normal(0, 2);
        const std::vector<kiln::label_t> labels{0, 3, 4, 2};
        CHECK(kiln::testing::check_loss_gradient<loss>(scores, labels, labels.size()) > 0);
        // The definition: max(0, max_{c != y} z_c - z_y), mean over the batch.
        double expected = 0;
        for (std::size_t b = 0; b < 4; ++b) {
            double other = -1e300;
            for (std::size_t c = 0; c < 5; ++c)
                if (c != std::size_t(labels[b])) other = std::max(other, scores[b * 5 + c]);
            expected += std::max(0.0, other - scores[b * 5 + labels[b]]);
        }
        CHECK(loss::evaluate(scores.data(), labels.data(), 4) == doctest::Approx(expected / 4));
    }

    TEST_CASE("multiclass_perceptron: a tie with an earlier class is a mistake") {
        using loss = kiln::multiclass_perceptron::bind<kiln::shape<3>,
                                                       kiln::layer<1, kiln::linear_no_bias<3>>>;
        const double zeros[3] = {0, 0, 0};
        const kiln::label_t label[1] = {2};
        double g[3];
        CHECK(loss::evaluate(zeros, label, 1, g) == 0);
        CHECK(g[0] == 1);
        CHECK(g[1] == 0);
        CHECK(g[2] == -1);
        const kiln::label_t first[1] = {0};
        loss::evaluate(zeros, first, 1, g);
        CHECK(g[0] == 0);
        CHECK(g[2] == 0);
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
