// The activations against PyTorch: test/golden/activations.txt holds each one's
// output, input gradient and (PReLU) slope gradient that
// test/golden/make_golden_activations.py computed in float64 on a batch of two
// (3, 4) inputs given by formulas. kiln recomputes them in double, each activation
// as a one-layer network through forward and backward; agreement within a
// relative 1e-9 (support/golden_file.hpp).
#include <kiln/kiln.hpp>

#include "support/golden_file.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace {

using kiln::testing::check_close;

constexpr std::size_t batch = 2;

template <class Activation>
void check_against_torch(const std::string& name, const std::vector<double>& slopes = {}) {
    using net = kiln::sequential<kiln::input<3, 4>, Activation>;
    constexpr std::size_t count = batch * net::input_shape::size;
    INFO(name);
    const auto golden = kiln::testing::read_golden("activations.txt");
    kiln::model<net, double> model;
    kiln::workspace<net, double> space(batch);
    if constexpr (net::param_count != 0) {
        const auto weights = model.template layer<1>().weights();
        REQUIRE(weights.size() == slopes.size());
        std::copy(slopes.begin(), slopes.end(), weights.begin());
    }
    std::vector<double> x(count), dx(count);
    for (std::size_t i = 0; i < count; ++i)
        x[i] = 4 * std::sin(0.7 * double(i) + 0.2);
    const auto y = kiln::forward(
        model, space, kiln::batch_view<typename net::input_shape, const double>(x.data(), batch));
    const auto& y_torch = golden.at(name + ".y");
    REQUIRE(y.size() == y_torch.size());
    for (std::size_t i = 0; i < count; ++i)
        check_close(y.data()[i], y_torch[i], "y[" + std::to_string(i) + "]");

    double* const dy = kiln::output_gradient(space).data();
    for (std::size_t i = 0; i < count; ++i)
        dy[i] = std::cos(0.4 * double(i) + 0.9);
    kiln::backward(model, space, dx.data());
    const auto& dx_torch = golden.at(name + ".dx");
    REQUIRE(dx_torch.size() == count);
    for (std::size_t i = 0; i < count; ++i)
        check_close(dx[i], dx_torch[i], "dx[" + std::to_string(i) + "]");
    if constexpr (net::param_count != 0) {
        const auto& dweight_torch = golden.at(name + ".dweight");
        const auto dweight = model.template layer<1>().weight_gradients();
        REQUIRE(dweight.size() == dweight_torch.size());
        for (std::size_t i = 0; i < dweight.size(); ++i)
            check_close(dweight[i], dweight_torch[i], "dweight[" + std::to_string(i) + "]");
    }
}

} // namespace

TEST_SUITE("golden") {
    TEST_CASE("activations compute PyTorch's outputs and gradients") {
        check_against_torch<kiln::tanh>("tanh");
        check_against_torch<kiln::sigmoid>("sigmoid");
        check_against_torch<kiln::gelu>("gelu");
        check_against_torch<kiln::gelu_tanh>("gelu_tanh");
        check_against_torch<kiln::silu>("silu");
        check_against_torch<kiln::leaky_relu<>>("leaky_relu_default");
        check_against_torch<kiln::leaky_relu<-0.3>>("leaky_relu_negative");
        check_against_torch<kiln::elu<>>("elu_default");
        check_against_torch<kiln::elu<0.5>>("elu_half");
        check_against_torch<kiln::prelu<>>("prelu_one", {0.3});
        check_against_torch<kiln::prelu<4>>("prelu_per_feature", {0.1, -0.2, 0.25, 0.6});
        check_against_torch<kiln::softmax>("softmax");
    }
}
