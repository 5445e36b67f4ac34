// The course's smaller pieces (SEED.md A and B): the mini CNN's gradients against
// the closed-form formulas, and the kernelized perceptron with the linear kernel
// against Algorithm 1 (a kiln network trained by SGD), weight for weight.
#include <kiln/kiln.hpp>
#include <kiln/train/kernel_perceptron.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <vector>

namespace {

using mini_cnn = kiln::sequential<kiln::input<3>, kiln::conv1d_no_bias<1, 2>, kiln::relu,
                                  kiln::flatten, kiln::linear_no_bias<1>>;
static_assert(mini_cnn::param_count == 4);
static_assert(std::is_same_v<mini_cnn::output_shape, kiln::shape<1>>);

double sigmoid(double z) {
    return 1 / (1 + std::exp(-z));
}

} // namespace

TEST_SUITE("course") {
    TEST_CASE("mini CNN: kiln's gradients are the closed-form ones of SEED.md B") {
        kiln::model<mini_cnn, double> net(kiln::init::normal{0, 1}, 1);
        kiln::trainer<mini_cnn, kiln::logistic, kiln::sgd, double> train(net, kiln::sgd{}, 1);
        using conv = mini_cnn::layer_t<1>;
        using dense = mini_cnn::layer_t<4>;
        double* const w = net.parameters_of<1>();
        double* const v = net.parameters_of<4>();
        const double* const dw = net.gradients_of<1>();
        const double* const dv = net.gradients_of<4>();
        kiln::rng random(17);
        std::size_t active = 0;
        for (int point = 0; point < 1000; ++point) {
            const double w1 = random.normal(), w2 = random.normal();
            const double v1 = random.normal(), v2 = random.normal();
            w[conv::weight_at(0, 0, 0)] = w1;
            w[conv::weight_at(1, 0, 0)] = w2;
            v[dense::weight_at(0, 0)] = v1;
            v[dense::weight_at(1, 0)] = v2;
            const double x[3] = {random.normal(), random.normal(), random.normal()};
            const kiln::label_t y = random.uniform() < 0.5 ? -1 : 1;
            train.compute_gradients(kiln::batch_view<kiln::shape<3>, const double>(x, 1),
                                    kiln::sign_label_view(&y, 1));

            const double a1 = x[0] * w1 + x[1] * w2, a2 = x[1] * w1 + x[2] * w2;
            const double o1 = std::max(a1, 0.0), o2 = std::max(a2, 0.0);
            const double h1 = a1 > 0, h2 = a2 > 0;
            const double y_hat = v1 * o1 + v2 * o2;
            const double common = -y * sigmoid(-y * y_hat);
            INFO("point ", point);
            CHECK(dv[dense::weight_at(0, 0)] == doctest::Approx(common * o1).epsilon(1e-12));
            CHECK(dv[dense::weight_at(1, 0)] == doctest::Approx(common * o2).epsilon(1e-12));
            CHECK(dw[conv::weight_at(0, 0, 0)] ==
                  doctest::Approx(common * (v1 * h1 * x[0] + v2 * h2 * x[1])).epsilon(1e-12));
            CHECK(dw[conv::weight_at(1, 0, 0)] ==
                  doctest::Approx(common * (v1 * h1 * x[1] + v2 * h2 * x[2])).epsilon(1e-12));
            active += (h1 + h2) > 0;
        }
        CHECK(active > 500); // most points have a live unit: the formulas were exercised
    }

    TEST_CASE("kernel perceptron with the linear kernel gives Algorithm 1's weights exactly") {
        // Small whole-number features: every score and weight is an exact double, so
        // both algorithms take the same decisions and must agree to the last bit.
        constexpr std::size_t dim = 24, classes = 4, count = 300;
        using net_type = kiln::sequential<kiln::input<dim>, kiln::linear_no_bias<classes>>;
        kiln::rng random(3);
        std::vector<double> x(count * dim);
        std::vector<kiln::label_t> labels(count);
        for (std::size_t n = 0; n < count; ++n) {
            labels[n] = static_cast<kiln::label_t>(random.below(classes));
            for (std::size_t i = 0; i < dim; ++i)
                x[n * dim + i] = static_cast<double>(random.below(8)) +
                                 (i % classes == std::size_t(labels[n]) ? 3.0 : 0.0);
        }

        kiln::model<net_type, double> net(kiln::init::normal{0, 0}, 1); // all zero
        kiln::trainer<net_type, kiln::multiclass_perceptron, kiln::sgd, double> algorithm1(
            net, kiln::sgd{.learning_rate = 1}, 1);
        kiln::kernel_perceptron<kiln::shape<dim>, classes, kiln::linear_kernel, double> algorithm2(
            kiln::linear_kernel{}, count);

        std::vector<std::size_t> order(count);
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::size_t mistakes = 0;
        for (int epoch = 0; epoch < 4; ++epoch) {
            random.shuffle(std::span<std::size_t>(order));
            for (const std::size_t n : order) {
                const kiln::batch_view<kiln::shape<dim>, const double> example(&x[n * dim], 1);
                algorithm1.step(example, kiln::label_view<classes>(&labels[n], 1));
                mistakes += algorithm2.learn(&x[n * dim], n, labels[n]);
            }
        }
        CHECK(mistakes > 10); // both learned something
        CHECK(algorithm2.support_size() > 0);
        const std::vector<double> weights = algorithm2.linear_weights();
        const double* const w = net.parameters_of<1>();
        for (std::size_t i = 0; i < dim * classes; ++i) {
            INFO("weight ", i);
            REQUIRE(w[i] == weights[i]);
        }
    }

    TEST_CASE("kernel perceptron: polynomial and RBF kernels by their definitions") {
        const double x[3] = {1, 2, 3}, z[3] = {-1, 0.5, 2};
        const double dot = 1 * -1 + 2 * 0.5 + 3 * 2.0, nx = 14, nz = 1 + 0.25 + 4;
        CHECK(kiln::polynomial_kernel{3, 1.0}(dot, nx, nz) ==
              doctest::Approx(std::pow(dot + 1, 3)));
        double distance2 = 0;
        for (int i = 0; i < 3; ++i)
            distance2 += (x[i] - z[i]) * (x[i] - z[i]);
        CHECK(kiln::rbf_kernel{0.3}(dot, nx, nz) == doctest::Approx(std::exp(-0.3 * distance2)));

        // Learning separable data with the RBF kernel: it ends up with no mistakes.
        kiln::kernel_perceptron<kiln::shape<2>, 2, kiln::rbf_kernel, double> learner({1.0}, 40);
        std::vector<double> points(80);
        std::vector<kiln::label_t> labels(40);
        kiln::rng random(2);
        for (std::size_t n = 0; n < 40; ++n) {
            points[2 * n] = random.normal();
            points[2 * n + 1] = random.normal();
            labels[n] = points[2 * n] * points[2 * n] + points[2 * n + 1] * points[2 * n + 1] > 1;
        }
        std::size_t last_epoch_mistakes = 0;
        for (int epoch = 0; epoch < 50; ++epoch) {
            last_epoch_mistakes = 0;
            for (std::size_t n = 0; n < 40; ++n)
                last_epoch_mistakes += learner.learn(&points[2 * n], n, labels[n]);
        }
        CHECK(last_epoch_mistakes == 0);
        CHECK(learner.accuracy(kiln::batch_view<kiln::shape<2>, const double>(points.data(), 40),
                               kiln::label_view<2>(labels.data(), 40)) == 1.0);
    }
}
