// The tiny transformer's pieces and the whole model: every new layer's backward
// against central differences in double (relative error < 1e-6, as
// test_gradients.cpp), the causal mask, the whole model and AdamW against
// PyTorch (test/golden/gpt.txt, relative 1e-9), and the character text data.
#include <kiln/data/char_text.hpp>
#include <kiln/io.hpp>

#include "support/gradient_probe.hpp"
#include "support/random_tokens.hpp"
#include "support/temp_dir.hpp"

#include "support/golden_file.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifndef KILN_SOURCE_DIR
#define KILN_SOURCE_DIR "."
#endif

namespace {

// Token-id inputs are checked through their parameters only (probe's Vocab).
template <class Net, std::size_t Vocab = 0>
using probe = kiln::testing::probe<Net, Vocab, 2>;

template <std::size_t Vocab, std::size_t Block, std::size_t Width, std::size_t Heads,
          std::size_t Blocks, std::size_t Hidden>
using small_gpt = kiln::sequential<
    kiln::tokens<Block, Vocab>, kiln::embedding<Vocab, Width>, kiln::add_position<Block>,
    kiln::repeat<
        Blocks, kiln::residual<kiln::layer_norm, kiln::causal_self_attention<Heads>>,
        kiln::residual<kiln::layer_norm, kiln::linear<Hidden>, kiln::relu, kiln::linear<Width>>>,
    kiln::layer_norm, kiln::linear<Vocab>>;

// The network of SEED.md part F.
using course_gpt = small_gpt<65, 32, 64, 4, 4, 256>;
static_assert(course_gpt::param_count == 209'729);

using kiln::testing::read_golden;

void check_all_close(std::span<const double> kiln_values, const std::vector<double>& torch_values,
                     double relative, const char* what) {
    REQUIRE(kiln_values.size() == torch_values.size());
    for (std::size_t i = 0; i < torch_values.size(); ++i) {
        INFO(what, " ", i, ": kiln ", kiln_values[i], ", PyTorch ", torch_values[i]);
        REQUIRE(std::abs(kiln_values[i] - torch_values[i]) <=
                relative * std::max(1.0, std::abs(torch_values[i])));
    }
}

} // namespace

TEST_SUITE("gpt") {
    TEST_CASE("layer_norm") {
        probe<kiln::sequential<kiln::input<3, 6>, kiln::layer_norm>>{}.check();
    }
    TEST_CASE("causal_self_attention, one head") {
        probe<kiln::sequential<kiln::input<4, 5>, kiln::causal_self_attention<1>>>{}.check();
    }
    TEST_CASE("causal_self_attention, several heads, a sequence past one register") {
        probe<kiln::sequential<kiln::input<19, 8>, kiln::causal_self_attention<4>>>{}.check();
    }
    TEST_CASE("add_position, shorter sequence than the table") {
        probe<kiln::sequential<kiln::input<3, 4>, kiln::add_position<5>, kiln::linear<3>>>{}
            .check();
    }
    TEST_CASE("residual and repeat") {
        probe<kiln::sequential<kiln::input<3, 6>,
                               kiln::repeat<2, kiln::residual<kiln::layer_norm, kiln::linear<7>,
                                                              kiln::relu, kiln::linear<6>>>>>{}
            .check();
        // Copies that keep the shape run as one body N times, relu fused in each.
        probe<kiln::sequential<kiln::input<6>, kiln::repeat<3, kiln::linear<6>, kiln::relu>,
                               kiln::linear<4>>>{}
            .check();
        // A body that changes the shape is bound copy after copy.
        probe<kiln::sequential<kiln::input<2, 4>, kiln::repeat<2, kiln::linear<5>, kiln::relu>,
                               kiln::linear<3>>>{}
            .check();
    }
    TEST_CASE("embedding, and a whole small GPT") {
        probe<kiln::sequential<kiln::tokens<4, 7>, kiln::embedding<7, 5>>, 7>{}.check();
        probe<small_gpt<7, 5, 8, 2, 2, 12>, 7>{}.check();
    }

    TEST_CASE("the causal mask: no position sees the future") {
        using net_type = small_gpt<11, 9, 16, 4, 2, 32>;
        kiln::model<net_type> net(kiln::init::pytorch_default{}, 3);
        kiln::workspace<net_type> space(1);
        std::vector<float> ids = {1, 4, 2, 9, 0, 3, 3, 7, 5};
        using view = kiln::batch_view<kiln::shape<9>, const float>;
        const auto first = kiln::forward(net, space, view(ids.data(), 1));
        const std::vector<float> before(first.data(), first.data() + first.size());
        for (std::size_t t = 0; t < 9; ++t) {
            auto changed = ids;
            changed[t] = static_cast<float>((static_cast<int>(ids[t]) + 5) % 11);
            const auto after = kiln::forward(net, space, view(changed.data(), 1));
            for (std::size_t i = 0; i < 9 * 11; ++i) {
                INFO("changed position ", t, ", logit ", i);
                if (i / 11 < t) REQUIRE(after.data()[i] == before[i]);
            }
            CHECK(after.data()[t * 11] != before[t * 11]); // the position itself does see it
        }
    }

    TEST_CASE("the whole model against PyTorch: logits, loss, every gradient, AdamW steps") {
        // Tolerance: relative 1e-9 (float64 on both sides; differences are rounding order).
        using net_type = small_gpt<11, 6, 8, 2, 2, 32>;
        static_assert(net_type::param_count == 1947);
        auto golden = read_golden("gpt.txt");
        kiln::model<net_type, double> net;
        REQUIRE(golden["parameters"].size() == net.parameters().size());
        std::copy(golden["parameters"].begin(), golden["parameters"].end(),
                  net.parameters().begin());
        const auto& tokens = golden["tokens"];
        std::vector<kiln::label_t> targets(golden["targets"].begin(), golden["targets"].end());
        const kiln::batch_view<kiln::shape<6>, const double> x(tokens.data(), 3);
        const kiln::label_view<11, 6> y(targets.data(), 3);

        kiln::trainer<net_type, kiln::sequence_cross_entropy, kiln::adamw, double> train(
            net, kiln::adamw{.learning_rate = 1e-2}, 3);
        const double loss = train.compute_gradients(x, y);
        CHECK(std::abs(loss - golden["loss"][0]) <= 1e-9 * golden["loss"][0]);
        check_all_close(net.gradients(), golden["gradients"], 1e-9, "gradient");
        const auto logits = kiln::forward(net, train.space(), x);
        check_all_close({logits.data(), logits.size()}, golden["logits"], 1e-9, "logit");

        // AdamW: 3 steps on the same batch, as one flat loop over stored gradients...
        kiln::model<net_type, double> flat_net(net);
        kiln::trainer<net_type, kiln::sequence_cross_entropy, kiln::adamw, double> flat(
            flat_net, kiln::adamw{.learning_rate = 1e-2}, 3);
        for (int step = 0; step < 3; ++step) {
            flat.compute_gradients(x, y);
            flat.optimizer().update(flat_net.parameters(), flat_net.gradients());
        }
        check_all_close(flat_net.parameters(), golden["adamw_parameters"], 1e-9, "flat AdamW");
        // ... and as a training step does it (the batch split across the pool's cores).
        for (int step = 0; step < 3; ++step)
            train.step(x, y);
        check_all_close(net.parameters(), golden["adamw_parameters"], 1e-9, "AdamW step");
    }

    TEST_CASE("AdamW fused into a plain network's weight-gradient pass equals the flat loop") {
        using mlp = kiln::sequential<kiln::input<7>, kiln::linear<9>, kiln::relu, kiln::linear<4>>;
        kiln::rng random(8);
        std::vector<double> x(6 * 7);
        std::vector<kiln::label_t> y(6);
        for (auto& v : x)
            v = random.normal(0.0, 1.0);
        for (auto& label : y)
            label = static_cast<kiln::label_t>(random.below(4));
        const kiln::batch_view<kiln::shape<7>, const double> xs(x.data(), 6);
        const kiln::label_view<4> ys(y.data(), 6);
        const kiln::adamw settings{.learning_rate = 1e-2, .weight_decay = 0.1};
        kiln::model<mlp, double> fused_net(kiln::init::pytorch_default{}, 3), flat_net(fused_net);
        kiln::trainer<mlp, kiln::softmax_cross_entropy, kiln::adamw, double> fused(fused_net,
                                                                                   settings, 6);
        kiln::trainer<mlp, kiln::softmax_cross_entropy, kiln::adamw, double> flat(flat_net,
                                                                                  settings, 6);
        for (int step = 0; step < 4; ++step) {
            fused.step(xs, ys);
            flat.compute_gradients(xs, ys);
            flat.optimizer().update(flat_net.parameters(), flat_net.gradients());
        }
        check_all_close(
            fused_net.parameters(),
            std::vector<double>(flat_net.parameters().begin(), flat_net.parameters().end()), 1e-12,
            "fused AdamW");
    }

    TEST_CASE("a step split across cores (parts of the batch) equals one workspace's step") {
        using net_type = small_gpt<11, 6, 8, 2, 2, 16>;
        kiln::rng random(5);
        std::vector<double> x(5 * 6);
        std::vector<kiln::label_t> y(5 * 6);
        kiln::testing::random_tokens(random, 11, x, y);
        const kiln::adamw settings{.learning_rate = 1e-2};
        kiln::model<net_type, double> reference(kiln::init::pytorch_default{}, 2);
        kiln::thread_pool one(1);
        kiln::trainer<net_type, kiln::sequence_cross_entropy, kiln::adamw, double> single(
            reference, settings, 5, one);
        for (std::size_t threads : {2, 3})
            for (std::size_t batch : {5, 4, 2, 1}) { // parts of 3 + 2, 2 + 2, 1 + 1, unsplit
                const kiln::batch_view<kiln::shape<6>, const double> xs(x.data(), batch);
                const kiln::label_view<11, 6> ys(y.data(), batch);
                kiln::model<net_type, double> expected(reference), got(reference);
                kiln::thread_pool pool(threads);
                kiln::trainer<net_type, kiln::sequence_cross_entropy, kiln::adamw, double> whole(
                    expected, settings, 5, one),
                    split(got, settings, 5, pool);
                for (int step = 0; step < 3; ++step) {
                    const double loss = whole.step(xs, ys);
                    CHECK(split.step(xs, ys) == doctest::Approx(loss).epsilon(1e-12));
                }
                check_all_close(
                    got.parameters(),
                    std::vector<double>(expected.parameters().begin(), expected.parameters().end()),
                    1e-10, "split step");
            }
    }

    TEST_CASE("the course's network in float: a training step lowers the loss on its batch") {
        kiln::model<course_gpt> net(kiln::init::pytorch_default{}, 1337);
        kiln::trainer<course_gpt, kiln::sequence_cross_entropy, kiln::adamw> train(net, {}, 16);
        const kiln::data::char_text text("First Citizen: Before we proceed any further, hear me "
                                         "speak. All: Speak, speak. First Citizen: You are all "
                                         "resolved rather to die than to famish?");
        kiln::rng random(1);
        std::vector<float> x(16 * 32);
        std::vector<kiln::label_t> y(16 * 32);
        kiln::data::sample_windows(text.ids(), 32, 16, random, x.data(), y.data());
        const kiln::batch_view<kiln::shape<32>, const float> xs(x.data(), 16);
        const kiln::label_view<65, 32> ys(y.data(), 16);
        const float first = train.step(xs, ys);
        CHECK(first == doctest::Approx(std::log(65.0)).epsilon(0.1));
        float last = first;
        for (int i = 0; i < 20; ++i)
            last = train.step(xs, ys);
        CHECK(last < first - 0.5f);
    }
}

TEST_SUITE("checkpoint") {
    TEST_CASE("a GPT and its AdamW state resume exactly where they stopped") {
        using net_type = small_gpt<11, 6, 8, 2, 2, 32>;
        kiln::rng random(4);
        std::vector<float> x(3 * 6);
        std::vector<kiln::label_t> y(3 * 6);
        kiln::testing::random_tokens(random, 11, x, y);
        const kiln::batch_view<kiln::shape<6>, const float> xs(x.data(), 3);
        const kiln::label_view<11, 6> ys(y.data(), 3);
        const kiln::adamw settings{.learning_rate = 1e-2};

        kiln::model<net_type> net(kiln::init::pytorch_default{}, 1);
        kiln::trainer<net_type, kiln::sequence_cross_entropy, kiln::adamw> train(net, settings, 3);
        for (int i = 0; i < 3; ++i)
            train.step(xs, ys);
        kiln::testing::temp_dir dir;
        auto state = kiln::checkpoint::of<net_type, float>();
        kiln::store(state, train);
        state.save(dir / "gpt.kiln");
        for (int i = 0; i < 3; ++i)
            train.step(xs, ys);

        kiln::model<net_type> resumed_net(kiln::init::pytorch_default{}, 99);
        kiln::trainer<net_type, kiln::sequence_cross_entropy, kiln::adamw> resumed(resumed_net,
                                                                                   settings, 3);
        kiln::restore(kiln::checkpoint::load<net_type, float>(dir / "gpt.kiln"), resumed);
        CHECK(resumed.optimizer().steps() == 3);
        for (int i = 0; i < 3; ++i)
            resumed.step(xs, ys);
        const auto a = net.parameters();
        const auto b = resumed_net.parameters();
        CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));

        kiln::trainer<net_type, kiln::sequence_cross_entropy, kiln::adamw> other(
            resumed_net, kiln::adamw{.learning_rate = 5e-3}, 3);
        CHECK_THROWS_WITH(
            kiln::restore(kiln::checkpoint::load<net_type, float>(dir / "gpt.kiln"), other),
            doctest::Contains("adamw{learning_rate 0.01"));
    }
}

TEST_SUITE("data") {
    TEST_CASE("char_text: vocabulary, encode and decode, the 90/10 split, windows") {
        const kiln::data::char_text text("hello, world\n");
        CHECK(text.vocabulary() == "\n ,dehlorw");
        const auto ids = text.encode("world");
        CHECK(text.decode(std::span<const std::uint8_t>(ids)) == "world");
        CHECK(text.train().size() == 11);
        CHECK(text.validation().size() == 2);
        CHECK_THROWS_AS(text.encode("x"), kiln::data::data_error);
        const std::vector<float> bad = {3, 10};
        CHECK_THROWS_AS(text.decode(std::span<const float>(bad)), kiln::data::data_error);
        CHECK_THROWS_AS(kiln::data::require_windows(text.validation(), 2, "validation"),
                        kiln::data::data_error);

        kiln::rng random(3);
        std::vector<float> x(4 * 5);
        std::vector<kiln::label_t> y(4 * 5);
        kiln::data::sample_windows(text.train(), 5, 4, random, x.data(), y.data());
        for (std::size_t b = 0; b < 4; ++b)
            for (std::size_t t = 0; t + 1 < 5; ++t)
                CHECK(static_cast<kiln::label_t>(x[b * 5 + t + 1]) == y[b * 5 + t]);
    }
    TEST_CASE("char_text: a missing or empty file is a one-line error") {
        kiln::testing::temp_dir dir;
        const auto empty = dir / "empty.txt";
        std::ofstream(empty).close();
        CHECK_THROWS_WITH_AS(kiln::data::char_text::load(empty),
                             doctest::Contains("the text is empty"), kiln::data::data_error);
        CHECK_THROWS_WITH_AS(kiln::data::char_text::load(dir / "none.txt"),
                             doctest::Contains("no such text file"), kiln::data::data_error);
    }
    TEST_CASE("char_text: tiny Shakespeare has the course's 65 characters") {
        const std::filesystem::path path =
            std::string(KILN_SOURCE_DIR) + "/data/tinyshakespeare.txt";
        const auto text = kiln::data::char_text::load(path);
        CHECK(text.text().size() == 1'115'394);
        CHECK(text.vocabulary_size() == 65);
        CHECK(text.train().size() == 1'003'854);
    }
}
