// CNNs against PyTorch: test/golden/{small_cnn,cnn2,cnn3}.txt and the convolutions
// with options (conv_padded, conv_dilated, conv1d_options), average pooling
// (avg_pool), depthwise and transposed convolutions and upsampling (depthwise,
// transposed, upsample) hold logits, loss and
// gradients that test/golden/make_golden_cnn.py computed in float64 (torch's
// channels-first layers, converted to kiln's layout) at weights and inputs given
// by formulas. kiln recomputes them in double; agreement within a relative 1e-9.
#include <kiln/kiln.hpp>

#include "support/golden_file.hpp"

#include <doctest/doctest.h>

#include "support/golden_file.hpp"

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace {

using kiln::testing::check_close;
using kiln::testing::read_golden;

// One forward and backward pass in double at the formulas of make_golden_cnn.py.
template <class Net, std::size_t Batch>
struct golden_run {
    using input = typename Net::input_shape;
    static constexpr std::size_t classes = kiln::last_dim<typename Net::output_shape>;

    kiln::model<Net, double> net;
    kiln::trainer<Net, kiln::softmax_cross_entropy, kiln::sgd, double> train{net, kiln::sgd{},
                                                                             Batch};
    // Each parameter tensor in kiln's order (per layer: weights, then bias) as
    // (offset in the flat buffers, count).
    std::vector<std::pair<std::size_t, std::size_t>> tensors;
    std::vector<double> x = std::vector<double>(Batch * input::size);
    std::vector<double> input_gradient = std::vector<double>(Batch * input::size);
    std::vector<double> logits;
    double loss = 0;

    golden_run() {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (add_tensors<I + 1>(), ...);
        }
        (std::make_index_sequence<Net::layer_count>{});
        auto params = net.parameters();
        for (std::size_t k = 0; k < tensors.size(); ++k)
            for (std::size_t j = 0; j < tensors[k].second; ++j)
                params[tensors[k].first + j] = 0.1 * std::sin(1.0 + 0.7 * j + 1.3 * k);
        std::vector<kiln::label_t> labels(Batch);
        for (std::size_t b = 0; b < Batch; ++b) {
            for (std::size_t i = 0; i < input::size; ++i)
                x[b * input::size + i] = 0.5 + 0.5 * std::sin(0.3 * i + 1.1 * b);
            labels[b] = static_cast<kiln::label_t>((3 * b + 1) % classes);
        }
        const kiln::batch_view<input, const double> inputs(x.data(), Batch);
        const kiln::label_view<classes> targets(labels.data(), Batch);
        loss = train.compute_gradients(inputs, targets, input_gradient.data());
        const auto out = kiln::forward(net, train.space(), inputs);
        logits.assign(out.data(), out.data() + out.size());
    }

    template <std::size_t I>
    void add_tensors() {
        using layer = typename Net::template layer_t<I>;
        if constexpr (layer::param_count != 0) {
            const std::size_t offset = kiln::model<Net, double>::template offset_of<I>;
            tensors.emplace_back(offset, layer::weight_count);
            tensors.emplace_back(offset + layer::bias_offset,
                                 layer::param_count - layer::weight_count);
        }
    }

    const double* gradient(std::size_t k) const {
        return net.gradients().data() + tensors[k].first;
    }

    void check_logits_and_loss(const std::map<std::string, std::vector<double>>& golden) const {
        REQUIRE(golden.at("logits").size() == logits.size());
        for (std::size_t i = 0; i < logits.size(); ++i)
            check_close(logits[i], golden.at("logits")[i], "logit " + std::to_string(i));
        check_close(loss, golden.at("loss")[0], "loss");
    }
};

using cnn2 = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;
using cnn3 = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::conv2d<128, 2>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;

// Sums, sums of squares and sampled entries of every gradient tensor.
template <class Run>
void check_sampled_gradients(const Run& run,
                             const std::map<std::string, std::vector<double>>& golden) {
    for (std::size_t k = 0; k < run.tensors.size(); ++k) {
        const std::string name = "grad" + std::to_string(k);
        const double* values = run.gradient(k);
        const std::size_t count = run.tensors[k].second;
        double sum = 0, squares = 0;
        for (std::size_t j = 0; j < count; ++j)
            sum += values[j], squares += values[j] * values[j];
        // Sums of zero-sum gradients are rounding noise: compared on the scale of their squares.
        const double sum_scale = std::max(1.0, std::sqrt(golden.at(name + "_sumsq")[0] * count));
        INFO(name, " sum: kiln ", sum, ", PyTorch ", golden.at(name + "_sum")[0]);
        CHECK(std::abs(sum - golden.at(name + "_sum")[0]) <=
              kiln::testing::golden_tolerance * sum_scale);
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

// Logits, loss, every entry of every gradient and the input gradient.
template <class Net>
void check_every_gradient(const char* file) {
    const auto golden = read_golden(file);
    const golden_run<Net, 2> run;
    run.check_logits_and_loss(golden);
    for (std::size_t k = 0; k < run.tensors.size(); ++k) {
        const auto& expected = golden.at("grad" + std::to_string(k));
        REQUIRE(expected.size() == run.tensors[k].second);
        for (std::size_t j = 0; j < expected.size(); ++j)
            check_close(run.gradient(k)[j], expected[j],
                        "grad" + std::to_string(k) + "[" + std::to_string(j) + "]");
    }
    const auto& expected_input = golden.at("grad_input");
    REQUIRE(expected_input.size() == run.input_gradient.size());
    for (std::size_t i = 0; i < expected_input.size(); ++i)
        check_close(run.input_gradient[i], expected_input[i], "grad_input " + std::to_string(i));
}

} // namespace

TEST_SUITE("golden") {
    TEST_CASE("a small CNN with channels: logits, loss, every gradient and the input gradient "
              "match PyTorch") {
        check_every_gradient<kiln::sequential<kiln::input<6, 5, 2>, kiln::conv2d<3, 2>, kiln::relu,
                                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<4>>>(
            "small_cnn.txt");
    }

    TEST_CASE("conv2d with `same` and explicit padding, stride and dilation: every gradient "
              "matches PyTorch's Conv2d") {
        check_every_gradient<
            kiln::sequential<kiln::input<7, 6, 2>, kiln::conv2d<3, 3, 1, kiln::same>, kiln::relu,
                             kiln::conv2d<4, 2, 2, 1>, kiln::relu,
                             kiln::conv2d<3, 3, 1, kiln::same, 2>, kiln::flatten, kiln::linear<4>>>(
            "conv_padded.txt");
        // Dilation in place, then an even kernel under `same` (one more zero after).
        check_every_gradient<kiln::sequential<kiln::input<9, 8, 3>, kiln::conv2d<4, 3, 1, 0, 2>,
                                              kiln::relu, kiln::conv2d<5, 4, 1, kiln::same>,
                                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<3>>>(
            "conv_dilated.txt");
    }

    TEST_CASE("avg_pool2d and global_avg_pool2d: every gradient matches PyTorch's AvgPool2d and "
              "AdaptiveAvgPool2d(1)") {
        check_every_gradient<
            kiln::sequential<kiln::input<7, 6, 2>, kiln::conv2d<4, 3, 1, kiln::same>, kiln::relu,
                             kiln::avg_pool2d<2>, kiln::conv2d<5, 2>, kiln::relu,
                             kiln::global_avg_pool2d, kiln::linear<3>>>("avg_pool.txt");
    }

    TEST_CASE("depthwise_conv2d, one and two filters per channel, padded, strided and "
              "dilated: every gradient matches PyTorch's Conv2d with groups = channels") {
        check_every_gradient<kiln::sequential<
            kiln::input<7, 6, 3>, kiln::depthwise_conv2d<1, 3, 1, kiln::same>, kiln::relu,
            kiln::conv2d<4, 1>, kiln::depthwise_conv2d<2, 3, 2, 1>, kiln::relu,
            kiln::depthwise_conv2d<1, 2, 1, 0, 2>, kiln::flatten, kiln::linear<3>>>(
            "depthwise.txt");
    }

    TEST_CASE("conv_transpose2d with stride, padding and output padding: every gradient "
              "matches PyTorch's ConvTranspose2d") {
        check_every_gradient<kiln::sequential<
            kiln::input<4, 3, 2>, kiln::conv_transpose2d<3, 3, 2, 1, 1>, kiln::relu,
            kiln::conv_transpose2d<2, 2, 2>, kiln::flatten, kiln::linear<3>>>("transposed.txt");
    }

    TEST_CASE("upsample2d: every gradient matches PyTorch's Upsample(mode='nearest')") {
        check_every_gradient<kiln::sequential<kiln::input<3, 4, 2>, kiln::upsample2d<2>,
                                              kiln::conv2d<3, 3, 1, kiln::same>, kiln::relu,
                                              kiln::upsample2d<2>, kiln::flatten, kiln::linear<3>>>(
            "upsample.txt");
    }

    TEST_CASE("conv1d with stride, padding and dilation: every gradient matches PyTorch's "
              "Conv1d") {
        check_every_gradient<
            kiln::sequential<kiln::input<10, 2>, kiln::conv1d<3, 3, 2, 1>, kiln::relu,
                             kiln::conv1d<4, 2, 1, kiln::same, 2>, kiln::relu,
                             kiln::conv1d<2, 3, 1, 2>, kiln::flatten, kiln::linear<3>>>(
            "conv1d_options.txt");
    }

    TEST_CASE("the course's CNN2: logits, loss and gradient sums and samples match PyTorch") {
        const auto golden = read_golden("cnn2.txt");
        const golden_run<cnn2, 3> run;
        run.check_logits_and_loss(golden);
        check_sampled_gradients(run, golden);
    }

    TEST_CASE("the course's CNN3: logits, loss and gradient sums and samples match PyTorch") {
        const auto golden = read_golden("cnn3.txt");
        const golden_run<cnn3, 3> run;
        run.check_logits_and_loss(golden);
        check_sampled_gradients(run, golden);
    }
}
