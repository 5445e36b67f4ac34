// Training controls: learning-rate schedules against torch.optim.lr_scheduler,
// clipping by global norm against a double reference and against
// torch.nn.utils.clip_grad_norm_, a whole clipped and scheduled AdamW run against
// PyTorch's (test/golden/controls.txt, from make_golden_controls.py), a rate
// changed between steps, and every bad setting refused in one line.
#include <kiln/kiln.hpp>

#include "support/golden_file.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace {

using kiln::testing::check_close;
using kiln::testing::read_golden;

using small = kiln::sequential<kiln::input<12>, kiln::linear<8>, kiln::relu, kiln::linear<5>>;

// make_golden.py's small case: weights, batch and labels by its formulas, in double.
struct small_case {
    static constexpr std::size_t batch = 3;
    kiln::model<small, double> net;
    std::vector<double> x = std::vector<double>(batch * 12);
    std::vector<kiln::label_t> labels = std::vector<kiln::label_t>(batch);

    // Tensor k in kiln's order (W1, b1, W2, b2) of a buffer laid out as the parameters.
    static std::span<double> tensor(std::span<double> buffer, int k) {
        using first = small::layer_t<1>;
        using second = small::layer_t<3>;
        using m = kiln::model<small, double>;
        switch (k) {
        case 0:
            return buffer.subspan(m::offset_of<1>, first::weight_count);
        case 1:
            return buffer.subspan(m::offset_of<1> + first::bias_offset, 8);
        case 2:
            return buffer.subspan(m::offset_of<3>, second::weight_count);
        default:
            return buffer.subspan(m::offset_of<3> + second::bias_offset, 5);
        }
    }
    // The four tensors one after the other, as the golden file lists them.
    static std::vector<double> flat(std::span<double> buffer) {
        std::vector<double> out;
        for (int k = 0; k < 4; ++k)
            for (const double v : tensor(buffer, k))
                out.push_back(v);
        return out;
    }

    small_case() {
        for (int k = 0; k < 4; ++k) {
            const auto values = tensor(net.parameters(), k);
            for (std::size_t j = 0; j < values.size(); ++j)
                values[j] = 0.1 * std::sin(1.0 + 0.7 * static_cast<double>(j) + 1.3 * k);
        }
        for (std::size_t b = 0; b < batch; ++b) {
            for (std::size_t i = 0; i < 12; ++i)
                x[b * 12 + i] = 0.5 + 0.5 * std::sin(0.3 * static_cast<double>(i) +
                                                     1.1 * static_cast<double>(b));
            labels[b] = static_cast<kiln::label_t>((3 * b + 1) % 5);
        }
    }
    kiln::batch_view<kiln::shape<12>, const double> inputs() const { return {x.data(), batch}; }
    kiln::label_view<5> targets() const { return {labels.data(), batch}; }
};

// `make` throws std::invalid_argument: one line, containing each of `parts`.
template <class Make>
void refused(Make&& make, std::initializer_list<std::string> parts) {
    try {
        make();
    } catch (const std::invalid_argument& error) {
        const std::string message = error.what();
        CAPTURE(message);
        CHECK(message.rfind("kiln::", 0) == 0);
        CHECK(message.find('\n') == std::string::npos);
        for (const auto& part : parts)
            CHECK_MESSAGE(message.find(part) != std::string::npos, "missing: ", part);
        return;
    }
    FAIL("accepted");
}

template <class A, class B>
bool same_bits(const A& a, const B& b) {
    return a.size_bytes() == b.size_bytes() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

} // namespace

TEST_SUITE("controls") {
    TEST_CASE("schedules give torch.optim.lr_scheduler's rates, to a relative 1e-12") {
        const auto golden = read_golden("controls.txt");
        const double base = 0.1;
        const auto check = [&](const kiln::rate_schedule& schedule, const std::string& name) {
            const auto& rates = golden.at("schedule_" + name);
            REQUIRE(rates.size() > 8);
            for (std::size_t t = 0; t < rates.size(); ++t) {
                const double ours = schedule.rate(t, base);
                INFO(name, " step ", t, ": kiln ", ours, ", PyTorch ", rates[t]);
                CHECK(std::abs(ours - rates[t]) <= 1e-12 * rates[t]);
            }
        };
        check(kiln::step_decay{.period = 3, .factor = 0.5}, "step_decay");
        check(kiln::cosine_annealing{.steps = 10, .floor = 0.001}, "cosine");
        check(kiln::linear_warmup{.steps = 4, .start_factor = 0.25}, "linear_warmup");
        check(kiln::linear_warmup{.steps = 5, .start_factor = 1.0, .end_factor = 0.5},
              "linear_decay");
        check(
            kiln::warmup_cosine{
                .warmup_steps = 4, .total_steps = 10, .start_factor = 0.25, .floor = 0.001},
            "warmup_cosine");

        // After its steps a cosine holds at its floor (PyTorch's would rise again).
        const kiln::rate_schedule cosine = kiln::cosine_annealing{.steps = 10, .floor = 0.001};
        CHECK(cosine.rate(10, base) == 0.001);
        CHECK(cosine.rate(1'000'000, base) == 0.001);
        const kiln::rate_schedule warm =
            kiln::warmup_cosine{.warmup_steps = 4, .total_steps = 10, .floor = 0.001};
        CHECK(warm.rate(25, base) == 0.001);
        // None leaves the rate as it is; texts name every setting.
        CHECK(kiln::rate_schedule{}.rate(7, base) == base);
        CHECK(kiln::rate_schedule{}.text() == "none");
        CHECK(warm.text() ==
              "warmup_cosine{warmup_steps 4, total_steps 10, start_factor 0.3333333, floor 0.001}");
    }

    TEST_CASE("bad settings are one-line errors") {
        refused([] { [[maybe_unused]] kiln::rate_schedule s = kiln::step_decay{.period = 0}; },
                {"period"});
        refused(
            [] {
                [[maybe_unused]] kiln::rate_schedule s = kiln::step_decay{.period = 2, .factor = 0};
            },
            {"factor", "(0, 1]"});
        refused(
            [] {
                [[maybe_unused]] kiln::rate_schedule s =
                    kiln::step_decay{.period = 2, .factor = 1.5};
            },
            {"factor"});
        refused([] { [[maybe_unused]] kiln::rate_schedule s = kiln::cosine_annealing{.steps = 0}; },
                {"steps"});
        refused(
            [] {
                [[maybe_unused]] kiln::rate_schedule s =
                    kiln::cosine_annealing{.steps = 5, .floor = -1};
            },
            {"floor"});
        refused(
            [] {
                [[maybe_unused]] kiln::rate_schedule s =
                    kiln::cosine_annealing{.steps = 5, .floor = std::nan("")};
            },
            {"floor"});
        refused([] { [[maybe_unused]] kiln::rate_schedule s = kiln::linear_warmup{.steps = 0}; },
                {"steps"});
        refused(
            [] {
                [[maybe_unused]] kiln::rate_schedule s =
                    kiln::linear_warmup{.steps = 3, .start_factor = 0};
            },
            {"start factor"});
        refused(
            [] {
                [[maybe_unused]] kiln::rate_schedule s =
                    kiln::linear_warmup{.steps = 3, .end_factor = -0.5};
            },
            {"end factor"});
        refused(
            [] {
                [[maybe_unused]] kiln::rate_schedule s =
                    kiln::warmup_cosine{.warmup_steps = 10, .total_steps = 10};
            },
            {"warm-up (10 steps) must be shorter than the total (10 steps)"});

        kiln::sgd::state<float> sgd(kiln::sgd{.learning_rate = 0.1}, 4);
        kiln::adamw::state<float> adamw(kiln::adamw{}, 4);
        for (const double bad : {-0.1, std::nan(""), std::numeric_limits<double>::infinity()}) {
            CAPTURE(bad);
            refused([&] { sgd.set_learning_rate(bad); }, {"kiln::sgd", "learning rate"});
            refused([&] { adamw.set_learning_rate(bad); }, {"kiln::adamw", "learning rate"});
        }
        CHECK(sgd.learning_rate() == doctest::Approx(0.1)); // a refused rate changes nothing

        kiln::model<small> net;
        kiln::trainer<small> train(net, kiln::sgd{}, 1);
        for (const double bad : {0.0, -1.0, std::nan("")})
            refused([&] { train.set_max_gradient_norm(bad); }, {"maximum gradient norm", "> 0"});
        train.set_max_gradient_norm(std::numeric_limits<double>::infinity()); // off
        CHECK(train.max_gradient_norm() == std::numeric_limits<double>::infinity());
    }

    TEST_CASE("a rate changed between steps takes effect on the next step, state kept") {
        const std::vector<float> x(4 * 12, 0.5f);
        const std::vector<kiln::label_t> y{0, 1, 2, 3};
        const kiln::batch_view<kiln::shape<12>, const float> inputs(x.data(), 4);
        const kiln::label_view<5> labels(y.data(), 4);

        // Changed in place, it gives what a trainer built for the new rate gives.
        kiln::model<small> changed(kiln::init::normal{0, 0.1}, 3);
        kiln::model<small> rebuilt = changed;
        kiln::trainer<small> train(changed, kiln::sgd{.learning_rate = 0.1}, 4);
        kiln::trainer<small> first(rebuilt, kiln::sgd{.learning_rate = 0.1}, 4);
        train.step(inputs, labels);
        first.step(inputs, labels);
        train.optimizer().set_learning_rate(0.03);
        kiln::trainer<small> second(rebuilt, kiln::sgd{.learning_rate = 0.03}, 4);
        train.step(inputs, labels);
        second.step(inputs, labels);
        CHECK(train.optimizer().learning_rate() == doctest::Approx(0.03));
        CHECK(same_bits(changed.parameters(), rebuilt.parameters()));

        // Rate 0 leaves the parameters as they are, with momentum or AdamW's moments,
        // which keep running: the rate back, the step moves them again.
        kiln::model<small> net(kiln::init::normal{0, 0.1}, 4);
        kiln::trainer<small> momentum(net, kiln::sgd{.learning_rate = 0.1, .momentum = 0.9}, 4);
        kiln::trainer<small, kiln::softmax_cross_entropy, kiln::adamw> adamw(net, {}, 4);
        const auto check_pause = [&](auto& trainer) {
            trainer.step(inputs, labels);
            const std::vector<float> before(net.parameters().begin(), net.parameters().end());
            trainer.optimizer().set_learning_rate(0);
            trainer.step(inputs, labels);
            CHECK(same_bits(std::span<const float>(before), net.parameters()));
            trainer.optimizer().set_learning_rate(0.01);
            trainer.step(inputs, labels);
            CHECK_FALSE(same_bits(std::span<const float>(before), net.parameters()));
        };
        check_pause(momentum);
        check_pause(adamw);
        CHECK(adamw.optimizer().steps() == 3);
        CHECK(adamw.steps() == 3);
    }

    TEST_CASE("the global norm and clipping agree with a double reference") {
        kiln::rng random(5);
        for (const std::size_t size : {1, 7, 16, 100, 1000, 100'003}) {
            CAPTURE(size);
            std::vector<float> g(size);
            for (auto& v : g)
                v = static_cast<float>(random.normal(0, 1));
            double squares = 0;
            for (const float v : g)
                squares += static_cast<double>(v) * v;
            const double reference = std::sqrt(squares);
            CHECK(kiln::global_norm(std::span<const float>(g)) ==
                  doctest::Approx(reference).epsilon(2e-6));

            // Under the maximum: untouched. Over it: scaled by max / (norm + 1e-6).
            std::vector<float> kept = g;
            CHECK(kiln::clip_gradient_norm(std::span<float>(kept), 2 * reference) ==
                  doctest::Approx(reference).epsilon(2e-6));
            CHECK(kept == g);
            std::vector<float> clipped = g;
            kiln::clip_gradient_norm(std::span<float>(clipped), 0.5 * reference);
            const double factor = 0.5 * reference / (reference + 1e-6);
            for (std::size_t i = 0; i < size; ++i)
                CHECK(clipped[i] == doctest::Approx(g[i] * factor).epsilon(4e-6));
            CHECK(kiln::global_norm(std::span<const float>(clipped)) ==
                  doctest::Approx(0.5 * reference).epsilon(4e-6));
        }
        // Large floats whose squares overflow float: the norm is still finite.
        std::vector<float> large(1000, 1e20f);
        CHECK(kiln::global_norm(std::span<const float>(large)) ==
              doctest::Approx(1e20 * std::sqrt(1000.0)).epsilon(1e-6));
        // A NaN or an infinity: the norm says so and the gradients stay as they were.
        for (const float bad :
             {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
            std::vector<float> g(300, 0.5f);
            g[257] = bad;
            const std::vector<float> before = g;
            CHECK_FALSE(std::isfinite(kiln::clip_gradient_norm(std::span<float>(g), 1.0)));
            CHECK(same_bits(std::span<const float>(g), std::span<const float>(before)));
        }
    }

    TEST_CASE("clipping matches torch.nn.utils.clip_grad_norm_ on a small network") {
        const auto golden = read_golden("controls.txt");
        small_case run;
        kiln::trainer<small, kiln::softmax_cross_entropy, kiln::sgd, double> train(run.net, {}, 3);
        train.compute_gradients(run.inputs(), run.targets());
        const auto gradients = small_case::flat(run.net.gradients());
        REQUIRE(gradients.size() == golden.at("gradients").size());
        for (std::size_t i = 0; i < gradients.size(); ++i)
            check_close(gradients[i], golden.at("gradients")[i], "gradient " + std::to_string(i));
        const double norm = kiln::clip_gradient_norm(run.net.gradients(), 0.25);
        check_close(norm, golden.at("norm")[0], "norm");
        const auto clipped = small_case::flat(run.net.gradients());
        for (std::size_t i = 0; i < clipped.size(); ++i)
            check_close(clipped[i], golden.at("clipped")[i], "clipped " + std::to_string(i));
    }

    TEST_CASE("a clipped AdamW run under warm-up and cosine matches PyTorch's, step by step") {
        const auto golden = read_golden("controls.txt");
        small_case run;
        kiln::trainer<small, kiln::softmax_cross_entropy, kiln::adamw, double> train(
            run.net, kiln::adamw{.learning_rate = 0.01, .weight_decay = 0.01}, 3);
        train.set_schedule(kiln::warmup_cosine{
            .warmup_steps = 2, .total_steps = 5, .start_factor = 0.5, .floor = 1e-4});
        train.set_max_gradient_norm(0.25);
        for (std::size_t step = 0; step < 5; ++step) {
            train.step(run.inputs(), run.targets());
            check_close(train.last_gradient_norm(), golden.at("run_norms")[step],
                        "norm of step " + std::to_string(step));
            check_close(train.optimizer().learning_rate(), golden.at("run_rates")[step],
                        "rate of step " + std::to_string(step));
        }
        const auto parameters = small_case::flat(run.net.parameters());
        REQUIRE(parameters.size() == golden.at("run_parameters").size());
        for (std::size_t i = 0; i < parameters.size(); ++i)
            check_close(parameters[i], golden.at("run_parameters")[i],
                        "parameter " + std::to_string(i));
    }

    TEST_CASE("a clipped step split between cores clips as the whole step does") {
        using gpt = kiln::sequential<
            kiln::tokens<8, 11>, kiln::embedding<11, 16>, kiln::add_position<8>,
            kiln::residual<kiln::layer_norm, kiln::causal_self_attention<2>>,
            kiln::residual<kiln::layer_norm, kiln::linear<32>, kiln::relu, kiln::linear<16>>,
            kiln::layer_norm, kiln::linear<11>>;
        std::vector<float> x(6 * 8);
        std::vector<kiln::label_t> y(6 * 8);
        for (std::size_t i = 0; i < x.size(); ++i) {
            x[i] = static_cast<float>((i * 7) % 11);
            y[i] = static_cast<kiln::label_t>((i * 5 + 1) % 11);
        }
        const kiln::batch_view<kiln::shape<8>, const float> inputs(x.data(), 6);
        const kiln::label_view<11, 8> labels(y.data(), 6);
        std::vector<std::vector<float>> results;
        std::vector<double> norms;
        for (const std::size_t threads : {1, 2}) {
            kiln::thread_pool pool(threads);
            kiln::model<gpt> net(kiln::init::pytorch_default{}, 1);
            kiln::trainer<gpt, kiln::sequence_cross_entropy, kiln::adamw> train(net, {}, 6, pool);
            train.set_max_gradient_norm(0.1);
            train.set_schedule(kiln::cosine_annealing{.steps = 4});
            for (int step = 0; step < 3; ++step)
                train.step(inputs, labels);
            CHECK(train.last_gradient_norm() > 0.1); // it clipped
            norms.push_back(train.last_gradient_norm());
            results.emplace_back(net.parameters().begin(), net.parameters().end());
        }
        CHECK(norms[1] == doctest::Approx(norms[0]).epsilon(1e-5));
        for (std::size_t i = 0; i < results[0].size(); ++i)
            REQUIRE(results[1][i] == doctest::Approx(results[0][i]).epsilon(1e-4).scale(1e-3));
    }

    TEST_CASE("a gradient that is not finite updates nothing, and check_finite names its layer") {
        // Logits are 0 (the first layer's weights are 0), so the loss is finite, but
        // the first layer's weight gradient x * (W2 . d) is 1e10 * 1e30: not a float.
        using two = kiln::sequential<kiln::input<2>, kiln::linear<2>, kiln::linear<2>>;
        kiln::model<two> net;
        std::fill(net.parameters().begin(), net.parameters().end(), 0.0f);
        auto w2 = net.layer<2>().weights(); // [in][out]
        w2[0] = w2[2] = 1e30f;
        w2[1] = w2[3] = -1e30f;
        for (const bool clipping : {false, true}) {
            CAPTURE(clipping);
            kiln::model<two> copy = net;
            kiln::trainer<two> train(copy, kiln::sgd{.learning_rate = 0.1}, 1);
            if (clipping) train.set_max_gradient_norm(1.0);
            const std::vector<float> x{1e10f, 1e10f};
            const std::vector<kiln::label_t> y{0};
            const float loss =
                train.step(kiln::batch_view<kiln::shape<2>, const float>(x.data(), 1),
                           kiln::label_view<2>(y.data(), 1));
            CHECK(loss == doctest::Approx(std::log(2.0)));
            if (!clipping) { // the fused update spends it; the next loss would show it
                CHECK_NOTHROW(kiln::check_finite(loss, train, 7));
                CHECK_FALSE(kiln::all_finite(std::span<const float>(copy.parameters())));
                continue;
            }
            CHECK(std::isinf(train.last_gradient_norm()));
            CHECK(same_bits(copy.parameters(), net.parameters()));
            try {
                kiln::check_finite(loss, train, 7);
                FAIL("check_finite accepted a non-finite gradient");
            } catch (const kiln::non_finite_error& error) {
                const std::string message = error.what();
                CAPTURE(message);
                CHECK(message.find('\n') == std::string::npos);
                CHECK(message.find("training stopped at step 7") == 0);
                CHECK(message.find("the gradient of layer(s) 1 is not finite") !=
                      std::string::npos);
                CHECK(message.find("global norm is inf") != std::string::npos);
                CHECK(message.find("left the parameters as they were") != std::string::npos);
                CHECK(error.step() == 7);
                CHECK(error.layer() == 1);
            }
        }
    }
}
