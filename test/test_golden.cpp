// Whole networks against PyTorch: test/golden/*.txt hold logits, loss and
// gradients that test/golden/make_golden.py computed in float64 at weights and
// inputs given by formulas (test/golden/README.md). kiln recomputes them in
// double; agreement within a relative 1e-9 (the differences are rounding order).
#include <kiln/kiln.hpp>

#include "support/golden_file.hpp"

#include <doctest/doctest.h>

#include "support/golden_file.hpp"

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace {

using kiln::testing::check_close;
using kiln::testing::read_golden;

// Fills parameters and inputs by the formulas of make_golden.py and runs one
// forward and backward pass in double.
template <std::size_t In, std::size_t Hidden, std::size_t Classes, std::size_t Batch>
struct golden_case {
    using net_type =
        kiln::sequential<kiln::input<In>, kiln::linear<Hidden>, kiln::relu, kiln::linear<Classes>>;
    kiln::model<net_type, double> net;
    kiln::trainer<net_type, kiln::softmax_cross_entropy, kiln::sgd, double> train{net, kiln::sgd{},
                                                                                  Batch};
    std::vector<double> x = std::vector<double>(Batch * In);
    std::vector<kiln::label_t> labels = std::vector<kiln::label_t>(Batch);
    std::vector<double> input_gradient = std::vector<double>(Batch * In);
    std::vector<double> logits;
    double loss = 0;

    // Tensor k of the golden files, in kiln's order, as (pointer, count).
    std::pair<double*, std::size_t> tensor(std::span<double> buffer, int k) {
        using first = typename net_type::template layer_t<1>;
        using second = typename net_type::template layer_t<3>;
        double* const base = buffer.data();
        switch (k) {
        case 0:
            return {base + net.template offset_of<1>, first::weight_count};
        case 1:
            return {base + net.template offset_of<1> + first::bias_offset, Hidden};
        case 2:
            return {base + net.template offset_of<3>, second::weight_count};
        default:
            return {base + net.template offset_of<3> + second::bias_offset, Classes};
        }
    }

    golden_case() {
        for (int k = 0; k < 4; ++k) {
            auto [values, count] = tensor(net.parameters(), k);
            for (std::size_t j = 0; j < count; ++j)
                values[j] = 0.1 * std::sin(1.0 + 0.7 * j + 1.3 * k);
        }
        for (std::size_t b = 0; b < Batch; ++b) {
            for (std::size_t i = 0; i < In; ++i)
                x[b * In + i] = 0.5 + 0.5 * std::sin(0.3 * i + 1.1 * b);
            labels[b] = static_cast<kiln::label_t>((3 * b + 1) % Classes);
        }
        const kiln::batch_view<kiln::shape<In>, const double> inputs(x.data(), Batch);
        const kiln::label_view<Classes> targets(labels.data(), Batch);
        loss = train.compute_gradients(inputs, targets, input_gradient.data());
        const auto out = kiln::forward(net, train.space(), inputs);
        logits.assign(out.data(), out.data() + out.size());
    }
};

template <class Case>
void check_logits_and_loss(const Case& run,
                           const std::map<std::string, std::vector<double>>& golden) {
    REQUIRE(golden.at("logits").size() == run.logits.size());
    for (std::size_t i = 0; i < run.logits.size(); ++i)
        check_close(run.logits[i], golden.at("logits")[i], "logit " + std::to_string(i));
    check_close(run.loss, golden.at("loss")[0], "loss");
}

} // namespace

TEST_SUITE("golden") {
    TEST_CASE("12-8-5 MLP: logits, loss, every gradient and the input gradient match PyTorch") {
        const auto golden = read_golden("small.txt");
        golden_case<12, 8, 5, 3> run;
        check_logits_and_loss(run, golden);
        for (int k = 0; k < 4; ++k) {
            const auto [values, count] = run.tensor(run.net.gradients(), k);
            const auto& expected = golden.at("grad" + std::to_string(k));
            REQUIRE(expected.size() == count);
            for (std::size_t j = 0; j < count; ++j)
                check_close(values[j], expected[j],
                            "grad" + std::to_string(k) + "[" + std::to_string(j) + "]");
        }
        const auto& expected_input = golden.at("grad_input");
        REQUIRE(expected_input.size() == run.input_gradient.size());
        for (std::size_t i = 0; i < expected_input.size(); ++i)
            check_close(run.input_gradient[i], expected_input[i],
                        "grad_input " + std::to_string(i));
    }

    TEST_CASE(
        "the course's 784-128-10 MLP: logits, loss and gradient sums and samples match PyTorch") {
        const auto golden = read_golden("mlp.txt");
        golden_case<784, 128, 10, 4> run;
        check_logits_and_loss(run, golden);
        for (int k = 0; k < 4; ++k) {
            const std::string name = "grad" + std::to_string(k);
            const auto [values, count] = run.tensor(run.net.gradients(), k);
            double sum = 0, squares = 0;
            for (std::size_t j = 0; j < count; ++j)
                sum += values[j], squares += values[j] * values[j];
            check_close(sum, golden.at(name + "_sum")[0], name + " sum");
            check_close(squares, golden.at(name + "_sumsq")[0], name + " sum of squares");
            const auto& positions = golden.at(name + "_positions");
            const auto& expected = golden.at(name + "_values");
            REQUIRE(positions.size() == expected.size());
            for (std::size_t j = 0; j < positions.size(); ++j) {
                const auto at = static_cast<std::size_t>(positions[j]);
                REQUIRE(at < count);
                check_close(values[at], expected[j], name + "[" + std::to_string(at) + "]");
            }
        }
    }
}
