// The update rules of SEED.md C and D, by hand.
#include <kiln/kiln.hpp>

#include <doctest/doctest.h>

#include <vector>

TEST_SUITE("optim") {
    TEST_CASE("sgd: w <- w - rate g") {
        kiln::sgd::state<double> opt(kiln::sgd{.learning_rate = 0.1}, 3);
        std::vector<double> w{1.0, -2.0, 0.5}, g{0.5, 1.0, -4.0};
        opt.update(w, g);
        CHECK(w[0] == doctest::Approx(0.95));
        CHECK(w[1] == doctest::Approx(-2.1));
        CHECK(w[2] == doctest::Approx(0.9));
        CHECK(opt.velocity().empty()); // plain SGD keeps no state
    }

    TEST_CASE("momentum: v <- alpha v + g; w <- w - rate v") {
        kiln::sgd::state<double> opt(kiln::sgd{.learning_rate = 0.1, .momentum = 0.9}, 1);
        std::vector<double> w{1.0};
        const double grads[3] = {1.0, 0.5, -2.0};
        double v = 0, expected = 1.0;
        for (double g : grads) {
            std::vector<double> gradient{g};
            opt.update(w, gradient);
            v = 0.9 * v + g;
            expected -= 0.1 * v;
            CHECK(w[0] == doctest::Approx(expected));
            CHECK(opt.velocity()[0] == doctest::Approx(v));
        }
    }

    TEST_CASE("bad settings are refused") {
        CHECK_THROWS_AS(kiln::sgd::state<float>(kiln::sgd{.learning_rate = -0.1}, 1),
                        std::invalid_argument);
        CHECK_THROWS_AS(
            kiln::sgd::state<float>(kiln::sgd{.learning_rate = 0.1, .momentum = 1.0}, 1),
            std::invalid_argument);
        CHECK_THROWS_AS(kiln::sgd::state<float>(kiln::sgd{.learning_rate = std::nan("")}, 1),
                        std::invalid_argument);
    }

    TEST_CASE("a trainer step applies exactly the gradient times the rate") {
        using net_type = kiln::sequential<kiln::input<4>, kiln::linear<3>>;
        kiln::model<net_type, double> net(kiln::init::normal{0, 0.5}, 1);
        kiln::trainer<net_type, kiln::softmax_cross_entropy, kiln::sgd, double> train(
            net, kiln::sgd{.learning_rate = 0.25}, 2);
        const double x[8] = {1, 2, 3, 4, -1, 0.5, 0, 2};
        const kiln::label_t y[2] = {2, 0};
        const kiln::batch_view<kiln::shape<4>, const double> inputs(x, 2);
        train.compute_gradients(inputs, kiln::label_view<3>(y, 2));
        const std::vector<double> before(net.parameters().begin(), net.parameters().end());
        const std::vector<double> gradient(net.gradients().begin(), net.gradients().end());
        train.step(inputs, kiln::label_view<3>(y, 2));
        for (std::size_t i = 0; i < before.size(); ++i)
            CHECK(net.parameters()[i] == doctest::Approx(before[i] - 0.25 * gradient[i]));
    }
}
