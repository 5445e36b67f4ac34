// gru, lstm and last_step: backward through time against central differences in
// double (every parameter and every input, every step returned or the last, lengths
// 1 to 5), the outputs and every gradient against PyTorch's nn.GRU and nn.LSTM
// (test/golden/recurrent.txt from test/golden/make_golden_recurrent.py), a sequence
// model trained through kiln::trainer on one core and two, and a checkpoint round trip.
#include <kiln/kiln.hpp>

#include <kiln/io.hpp>

#include "support/golden_file.hpp"
#include "support/gradient_probe.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using kiln::testing::probe;

TEST_SUITE("gradients") {
    TEST_CASE("gru: every step, lengths 1, 2 and 5") {
        probe<kiln::sequential<kiln::input<1, 3>, kiln::gru<4>>>{}.check();
        probe<kiln::sequential<kiln::input<2, 3>, kiln::gru<5>>>{}.check();
        probe<kiln::sequential<kiln::input<5, 2>, kiln::gru<3>>>{}.check();
    }
    TEST_CASE("gru: the last step") {
        probe<kiln::sequential<kiln::input<1, 4>, kiln::gru<3>, kiln::last_step>>{}.check();
        probe<kiln::sequential<kiln::input<4, 3>, kiln::gru<6>, kiln::last_step>>{}.check();
    }
    // Wide states: more than the stack would hold of W_hh^T (65536 weights), which
    // backward keeps in its gradient's scratch: every input and a sample of parameters.
    TEST_CASE("gru and lstm with wide states: the other recurrent product") {
        auto sampled = [](auto& p) {
            // N(0, 0.05) weights: with the probe's 0.5 and 150 states every gate saturates.
            for (double& v : p.net.parameters())
                v *= 0.1;
            p.objective();
            std::copy(p.c.begin(), p.c.end(), kiln::output_gradient(p.space).data());
            std::vector<double> dx(p.x.size());
            kiln::backward(p.net, p.space, dx.data());
            const std::vector<double> gradient(p.net.gradients().begin(), p.net.gradients().end());
            for (std::size_t i = 0; i < p.x.size(); ++i) {
                const double numeric = p.central_difference(p.x[i]);
                INFO("input ", i, ": backprop ", dx[i], ", numeric ", numeric);
                REQUIRE(p.agrees(dx[i], numeric));
            }
            auto params = p.net.parameters();
            for (std::size_t i = 0; i < params.size(); i += 997) {
                const double numeric = p.central_difference(params[i]);
                INFO("parameter ", i, ": backprop ", gradient[i], ", numeric ", numeric);
                REQUIRE(p.agrees(gradient[i], numeric));
            }
        };
        probe<kiln::sequential<kiln::input<3, 2>, kiln::gru<150>>, 0, 2> wide_gru;
        sampled(wide_gru);
        probe<kiln::sequential<kiln::input<3, 2>, kiln::lstm<130>>, 0, 2> wide_lstm;
        sampled(wide_lstm);
    }
    TEST_CASE("lstm: every step, lengths 1, 2 and 5") {
        probe<kiln::sequential<kiln::input<1, 3>, kiln::lstm<4>>>{}.check();
        probe<kiln::sequential<kiln::input<2, 3>, kiln::lstm<5>>>{}.check();
        probe<kiln::sequential<kiln::input<5, 2>, kiln::lstm<3>>>{}.check();
    }
    TEST_CASE("lstm: the last step") {
        probe<kiln::sequential<kiln::input<1, 4>, kiln::lstm<3>, kiln::last_step>>{}.check();
        probe<kiln::sequential<kiln::input<4, 3>, kiln::lstm<6>, kiln::last_step>>{}.check();
    }
}

namespace {

constexpr std::size_t golden_batch = 2, golden_length = 3, golden_features = 4, golden_hidden = 5;

// The parameters of make_golden_recurrent.py: tensor k in PyTorch's order, element j
// in PyTorch's layout, into kiln's (weights transposed: [in][gates]).
template <class T, class Layer>
void set_golden_parameters(Layer layer) {
    const char* names[] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"};
    for (std::size_t k = 0; k < 4; ++k) {
        const auto part = layer.part(names[k]);
        const std::size_t in = k == 0 ? golden_features : golden_hidden;
        const std::size_t gates = k < 2 ? part.size() / in : part.size();
        for (std::size_t j = 0; j < part.size(); ++j) {
            const T value = static_cast<T>(0.4 * std::sin(1.0 + 0.7 * double(j) + 1.3 * double(k)));
            if (k < 2)
                part[(j % in) * gates + j / in] = value; // PyTorch's [gate][in] at j
            else
                part[j] = value;
        }
    }
}

// kiln's gradient of a part in PyTorch's layout.
template <class T, class Layer>
std::vector<double> torch_layout_gradient(Layer layer, const char* name, std::size_t in) {
    const auto part = layer.part(name, true);
    std::vector<double> out(part.size());
    const std::size_t gates = in == 0 ? part.size() : part.size() / in;
    for (std::size_t j = 0; j < part.size(); ++j)
        out[j] = in == 0 ? part[j] : part[(j % in) * gates + j / in];
    return out;
}

// One layer (and last_step for mode "last") against PyTorch, in T, every value within
// a relative `tolerance` (of max(1, |PyTorch's value|)).
template <class Net, class T>
void check_against_torch(const std::string& prefix, double tolerance) {
    INFO(prefix);
    const auto golden = kiln::testing::read_golden("recurrent.txt");
    constexpr std::size_t count = golden_batch * Net::input_shape::size;
    kiln::model<Net, T> model;
    kiln::workspace<Net, T> space(golden_batch);
    set_golden_parameters<T>(model.template layer<1>());
    std::vector<T> x(count), dx(count);
    for (std::size_t i = 0; i < count; ++i)
        x[i] = static_cast<T>(std::sin(0.3 * double(i) + 0.5));
    const auto y = kiln::forward(
        model, space, kiln::batch_view<typename Net::input_shape, const T>(x.data(), golden_batch));
    auto close = [&](double kiln_value, double torch_value, const std::string& what) {
        INFO(what, ": kiln ", kiln_value, ", PyTorch ", torch_value);
        REQUIRE(std::abs(kiln_value - torch_value) <=
                tolerance * std::max(1.0, std::abs(torch_value)));
    };
    const auto& y_torch = golden.at(prefix + "y");
    REQUIRE(y.size() == y_torch.size());
    for (std::size_t i = 0; i < y.size(); ++i)
        close(y.data()[i], y_torch[i], "y " + std::to_string(i));
    T* const dy = kiln::output_gradient(space).data();
    for (std::size_t i = 0; i < y.size(); ++i)
        dy[i] = static_cast<T>(std::cos(0.4 * double(i) + 0.9));
    kiln::backward(model, space, dx.data());
    const auto& dx_torch = golden.at(prefix + "dx");
    REQUIRE(dx_torch.size() == count);
    for (std::size_t i = 0; i < count; ++i)
        close(dx[i], dx_torch[i], "dx " + std::to_string(i));
    const auto layer = model.template layer<1>();
    for (const auto& [name, in] :
         {std::pair{"weight_ih_l0", golden_features}, std::pair{"weight_hh_l0", golden_hidden},
          std::pair{"bias_ih_l0", std::size_t{0}}, std::pair{"bias_hh_l0", std::size_t{0}}}) {
        const auto got = torch_layout_gradient<T>(layer, name, in);
        const auto& expected = golden.at(prefix + "d" + name);
        REQUIRE(got.size() == expected.size());
        for (std::size_t j = 0; j < got.size(); ++j)
            close(got[j], expected[j], std::string("d") + name + " " + std::to_string(j));
    }
}

template <class Layer, class T>
void check_both_modes(const std::string& name, double tolerance) {
    using sequence = kiln::input<golden_length, golden_features>;
    check_against_torch<kiln::sequential<sequence, Layer>, T>(name + ".every.", tolerance);
    check_against_torch<kiln::sequential<sequence, Layer, kiln::last_step>, T>(name + ".last.",
                                                                               tolerance);
}

// A task only a recurrent model solves: is the sum of the sequence's first
// feature positive?
struct sign_of_sum {
    static constexpr std::size_t batch = 32, length = 6, features = 2;
    std::vector<double> x = std::vector<double>(batch * length * features);
    std::vector<kiln::label_t> y = std::vector<kiln::label_t>(batch);
    sign_of_sum() {
        kiln::rng random(3);
        for (auto& v : x)
            v = random.normal();
        for (std::size_t b = 0; b < batch; ++b) {
            double sum = 0;
            for (std::size_t t = 0; t < length; ++t)
                sum += x[(b * length + t) * features];
            y[b] = sum > 0;
        }
    }
    auto inputs(std::size_t count = batch) const {
        return kiln::batch_view<kiln::shape<length, features>, const double>(x.data(), count);
    }
    auto labels(std::size_t count = batch) const { return kiln::label_view<2>(y.data(), count); }
};

template <class Layer>
using sequence_classifier =
    kiln::sequential<kiln::input<sign_of_sum::length, sign_of_sum::features>, Layer,
                     kiln::last_step, kiln::linear<2>>;

template <class Layer>
void check_training() {
    using net = sequence_classifier<Layer>;
    using trainer = kiln::trainer<net, kiln::softmax_cross_entropy, kiln::adamw, double>;
    const sign_of_sum task;
    const kiln::adamw settings{.learning_rate = 2e-2};
    kiln::model<net, double> reference(kiln::init::pytorch_default{}, 7);
    kiln::thread_pool one(1), two(2);
    {
        kiln::model<net, double> model(reference);
        trainer train(model, settings, sign_of_sum::batch, one);
        const double first = train.step(task.inputs(), task.labels());
        double last = first;
        for (int i = 0; i < 60; ++i)
            last = train.step(task.inputs(), task.labels());
        INFO("loss ", first, " -> ", last);
        CHECK(last < 0.5 * first);
    }
    for (std::size_t batch : {std::size_t{32}, std::size_t{5}, std::size_t{1}}) {
        INFO("batch ", batch);
        kiln::model<net, double> expected(reference), got(reference);
        trainer whole(expected, settings, sign_of_sum::batch, one),
            split(got, settings, sign_of_sum::batch, two);
        for (int step = 0; step < 3; ++step) {
            const double loss = whole.step(task.inputs(batch), task.labels(batch));
            CHECK(split.step(task.inputs(batch), task.labels(batch)) ==
                  doctest::Approx(loss).epsilon(1e-12));
        }
        const auto a = expected.parameters();
        const auto b = got.parameters();
        for (std::size_t i = 0; i < a.size(); ++i) {
            INFO("parameter ", i);
            REQUIRE(std::abs(a[i] - b[i]) <= 1e-10 * std::max(1.0, std::abs(a[i])));
        }
    }
}

template <class Layer>
void check_checkpoint(const char* file) {
    using net = sequence_classifier<Layer>;
    using trainer = kiln::trainer<net, kiln::softmax_cross_entropy, kiln::adamw, double>;
    const sign_of_sum task;
    const kiln::adamw settings{.learning_rate = 1e-2};
    kiln::model<net, double> model(kiln::init::pytorch_default{}, 1);
    trainer train(model, settings, sign_of_sum::batch);
    for (int i = 0; i < 3; ++i)
        train.step(task.inputs(), task.labels());
    kiln::testing::temp_dir dir;
    auto state = kiln::checkpoint::of<net, double>();
    kiln::store(state, train);
    state.save(dir / file);
    for (int i = 0; i < 3; ++i)
        train.step(task.inputs(), task.labels());

    kiln::model<net, double> resumed_model(kiln::init::pytorch_default{}, 99);
    trainer resumed(resumed_model, settings, sign_of_sum::batch);
    kiln::restore(kiln::checkpoint::load<net, double>(dir / file), resumed);
    for (int i = 0; i < 3; ++i)
        resumed.step(task.inputs(), task.labels());
    const auto a = model.parameters();
    const auto b = resumed_model.parameters();
    CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
}

} // namespace

TEST_SUITE("golden") {
    // float64 on both sides: differences are rounding order, within 1e-9. In float
    // the same case holds to 2e-5 (a few float epsilons through three steps).
    TEST_CASE("gru against nn.GRU: outputs of every step and the last, every gradient") {
        check_both_modes<kiln::gru<golden_hidden>, double>("gru", 1e-9);
        check_both_modes<kiln::gru<golden_hidden>, float>("gru", 2e-5);
    }
    TEST_CASE("lstm against nn.LSTM: outputs of every step and the last, every gradient") {
        check_both_modes<kiln::lstm<golden_hidden>, double>("lstm", 1e-9);
        check_both_modes<kiln::lstm<golden_hidden>, float>("lstm", 2e-5);
    }
}

TEST_SUITE("training") {
    TEST_CASE("a gru classifier learns the sign of a sum; one core and two take the same steps") {
        check_training<kiln::gru<8>>();
    }
    TEST_CASE("an lstm classifier learns the sign of a sum; one core and two take the same steps") {
        check_training<kiln::lstm<8>>();
    }
}

TEST_SUITE("checkpoint") {
    TEST_CASE("a gru and an lstm model resume exactly where they stopped") {
        check_checkpoint<kiln::gru<6>>("gru.kiln");
        check_checkpoint<kiln::lstm<6>>("lstm.kiln");
    }
}
