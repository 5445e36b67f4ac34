// dropout and batch_norm: the training/evaluation mode, dropout's counter-based
// masks (repeatable, seed- and step-dependent, the rate's fraction dropped, the
// same on one core and two), batch_norm's statistics over the whole mini-batch on
// one core and two, running statistics in evaluation and through checkpoints,
// and both layers' backward against central differences in double (training
// mode, dropout with the mask a fixed seed and step give).
#include <kiln/io.hpp>
#include <kiln/kiln.hpp>

#include "support/golden_file.hpp"
#include "support/gradient_probe.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <vector>

namespace {

using kiln::testing::probe;

std::vector<float> ramp(std::size_t count, float scale = 1) {
    std::vector<float> values(count);
    kiln::rng random(3);
    for (auto& v : values)
        v = scale * static_cast<float>(random.normal());
    return values;
}

// y of a one-layer network in the given mode.
template <class Net>
std::vector<float> pass(kiln::model<Net>& net, const std::vector<float>& x, std::size_t batch,
                        const kiln::pass_mode& mode, std::size_t threads = 1) {
    kiln::thread_pool pool(threads);
    kiln::workspace<Net> space(batch, pool);
    space.set_min_flops_per_split(0); // every pass splits on a pool of two
    const auto y = kiln::forward(
        net, space, kiln::batch_view<typename Net::input_shape, const float>(x.data(), batch),
        mode);
    return {y.data(), y.data() + y.size()};
}

kiln::pass_mode training(std::uint64_t seed, std::uint64_t step) {
    return {true, seed, step, 0};
}

// test/golden/norm.txt (test/golden/make_golden_norm.py): two training passes, the
// second back-propagated, then an evaluation pass; within a relative 1e-9.
template <class Net>
void check_batch_norm_against_torch(const std::string& name) {
    using in_shape = typename Net::input_shape;
    constexpr std::size_t channels = kiln::last_dim<in_shape>;
    constexpr std::size_t batch = std::is_same_v<in_shape, kiln::shape<5>> ? 4 : 3;
    constexpr std::size_t count = batch * in_shape::size;
    INFO(name);
    const auto golden = kiln::testing::read_golden("norm.txt");
    const auto check_all = [&](const double* values, const std::string& key) {
        const auto& torch_values = golden.at(name + "." + key);
        for (std::size_t i = 0; i < torch_values.size(); ++i)
            kiln::testing::check_close(values[i], torch_values[i],
                                       key + "[" + std::to_string(i) + "]");
    };
    kiln::model<Net, double> model(kiln::init::pytorch_default{});
    auto layer = model.template layer<1>();
    for (std::size_t c = 0; c < channels; ++c) {
        layer.weights()[c] = 1 + 0.1 * double(c);
        layer.bias()[c] = 0.2 - 0.05 * double(c);
    }
    kiln::workspace<Net, double> space(batch);
    std::vector<double> x0(count), x1(count), dx(count);
    for (std::size_t i = 0; i < count; ++i) {
        x0[i] = 3 * std::sin(0.7 * double(i) + 0.2) + 0.5 * double(i % channels);
        x1[i] = 3 * std::sin(0.7 * double(i) + 1.2) + 0.5 * double(i % channels);
    }
    const auto view = [&](const std::vector<double>& x) {
        return kiln::batch_view<in_shape, const double>(x.data(), batch);
    };
    const auto set_dy = [&] {
        double* const dy = kiln::output_gradient(space).data();
        for (std::size_t i = 0; i < count; ++i)
            dy[i] = std::cos(0.4 * double(i) + 0.9);
    };
    kiln::forward(model, space, view(x0), training(0, 0));
    check_all(kiln::forward(model, space, view(x1), training(0, 1)).data(), "y");
    set_dy();
    kiln::backward(model, space, dx.data());
    check_all(dx.data(), "dx");
    check_all(layer.weight_gradients().data(), "dweight");
    check_all(layer.bias_gradients().data(), "dbias");
    check_all(layer.part("running_mean").data(), "running_mean");
    check_all(layer.part("running_var").data(), "running_var");
    check_all(kiln::forward(model, space, view(x0)).data(), "eval_y");
    set_dy();
    kiln::backward(model, space, dx.data());
    check_all(dx.data(), "eval_dx");
}

// Two clipped steps (the trainer's flat update) of a network that is one
// batch_norm on 4 features, alone or in a composite: the input does not depend on
// the parameters, so the running mean is then exactly (0.9 x 0.1 + 0.1) x the
// batch's mean, however AdamW's weight decay and clipping treat gamma and beta.
template <class Net>
void check_flat_update_leaves_statistics() {
    std::vector<float> x{1, 2, 3, 4, 3, -1, 0, 2, 5, 1, 1, 0};
    std::vector<kiln::label_t> labels{0, 1, 3};
    kiln::model<Net> model(kiln::init::pytorch_default{});
    kiln::trainer<Net, kiln::softmax_cross_entropy, kiln::adamw> train(
        model, kiln::adamw{0.1, 0.9, 0.999, 1e-8, 0.5}, 3);
    train.set_max_gradient_norm(0.5);
    for (int i = 0; i < 2; ++i)
        train.step(kiln::batch_view<kiln::shape<4>, const float>(x.data(), 3),
                   kiln::label_view<4>(labels.data(), 3));
    const float* const slice = model.template parameters_of<1>();
    for (std::size_t c = 0; c < 4; ++c) {
        const double mean = (x[c] + x[4 + c] + x[8 + c]) / 3.0;
        double squares = 0;
        for (std::size_t r = 0; r < 3; ++r)
            squares += (x[r * 4 + c] - mean) * (x[r * 4 + c] - mean);
        CHECK(slice[32 + c] == doctest::Approx(0.19 * mean).epsilon(1e-6));
        CHECK(slice[48 + c] == doctest::Approx(0.81 + 0.19 * squares / 2).epsilon(1e-6));
    }
}

} // namespace

TEST_SUITE("regularisation") {
    TEST_CASE("dropout: identity in evaluation, scaled survivors in training") {
        using net = kiln::sequential<kiln::input<64>, kiln::dropout<0.25>>;
        kiln::model<net> model;
        const auto x = ramp(8 * 64);
        CHECK(pass(model, x, 8, {}) == x);
        const auto y = pass(model, x, 8, training(1, 0));
        std::size_t dropped = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            if (y[i] == 0)
                ++dropped;
            else
                CHECK(y[i] == doctest::Approx(x[i] / 0.75f).epsilon(1e-6));
        }
        CHECK(dropped > 0);
        CHECK(dropped < x.size());
    }

    TEST_CASE("dropout: the mask repeats with the seed and step, and changes with either") {
        using net = kiln::sequential<kiln::input<256>, kiln::dropout<0.5>>;
        kiln::model<net> model;
        const auto x = ramp(4 * 256);
        const auto first = pass(model, x, 4, training(7, 3));
        CHECK(pass(model, x, 4, training(7, 3)) == first);
        CHECK(pass(model, x, 4, training(8, 3)) != first);
        CHECK(pass(model, x, 4, training(7, 4)) != first);
    }

    TEST_CASE("dropout: the fraction dropped is the rate") {
        using net = kiln::sequential<kiln::input<1000>, kiln::dropout<0.3>>;
        kiln::model<net> model;
        const std::vector<float> x(100 * 1000, 1.0f);
        const auto y = pass(model, x, 100, training(5, 0));
        std::size_t dropped = 0;
        for (const float v : y)
            dropped += v == 0;
        // 100,000 draws: the binomial's standard deviation is 145 (0.0015).
        CHECK(double(dropped) / double(y.size()) == doctest::Approx(0.3).epsilon(0.02));
    }

    TEST_CASE("dropout at rate 0 is the identity in training too") {
        using net = kiln::sequential<kiln::input<32>, kiln::dropout<0.0>>;
        kiln::model<net> model;
        const auto x = ramp(3 * 32);
        CHECK(pass(model, x, 3, training(1, 1)) == x);
    }

    TEST_CASE("dropout: the mask does not depend on the cores nor on where a part starts") {
        using net = kiln::sequential<kiln::input<96>, kiln::dropout<0.5>>;
        kiln::model<net> model;
        const auto x = ramp(10 * 96);
        const auto whole = pass(model, x, 10, training(9, 2), 1);
        CHECK(pass(model, x, 10, training(9, 2), 2) == whole);
        // The last 4 examples as a part that starts at example 6 of the batch.
        const std::vector<float> tail(x.begin() + 6 * 96, x.end());
        kiln::pass_mode part = training(9, 2);
        part.first_example = 6;
        CHECK(pass(model, tail, 4, part) ==
              std::vector<float>(whole.begin() + 6 * 96, whole.end()));
    }

    TEST_CASE("dropout: the trainer's steps repeat on 1 and 2 cores, with a network it splits "
              "by examples") {
        // layer_norm is stateful: on two cores the trainer splits this batch by examples.
        using net = kiln::sequential<kiln::input<12>, kiln::linear<16>, kiln::relu,
                                     kiln::dropout<0.5>, kiln::layer_norm, kiln::linear<3>>;
        const auto x = ramp(8 * 12);
        std::vector<kiln::label_t> labels{0, 1, 2, 0, 1, 2, 0, 1};
        const kiln::label_view<3> y(labels.data(), 8);
        const auto run = [&](std::size_t threads) {
            kiln::thread_pool pool(threads);
            kiln::model<net> model;
            kiln::trainer<net> train(model, kiln::sgd{0.1}, 8, pool);
            train.set_seed(4);
            for (int i = 0; i < 3; ++i)
                train.step(kiln::batch_view<kiln::shape<12>, const float>(x.data(), 8), y);
            return std::vector<float>(model.parameters().begin(), model.parameters().end());
        };
        const auto one = run(1), two = run(2);
        REQUIRE(one.size() == two.size());
        for (std::size_t i = 0; i < one.size(); ++i)
            CHECK(one[i] == doctest::Approx(two[i]).epsilon(1e-5));
    }

    TEST_CASE("dropout's backward against central differences, one mask") {
        probe<kiln::sequential<kiln::input<3, 5>, kiln::linear<6>, kiln::dropout<0.4>,
                               kiln::linear<4>>>
            p;
        p.mode = training(3, 1);
        p.check();
    }

    TEST_CASE("batch_norm's backward against central differences, training and evaluation") {
        SUBCASE("vectors, training") {
            probe<kiln::sequential<kiln::input<5>, kiln::linear<6>, kiln::batch_norm<>,
                                   kiln::linear<3>>,
                  0, 4>
                p;
            p.mode = training(0, 0);
            p.check();
        }
        SUBCASE("images, training") {
            probe<kiln::sequential<kiln::input<3, 3, 2>, kiln::batch_norm<0.2, 1e-3>, kiln::flatten,
                                   kiln::linear<3>>>
                p;
            p.mode = training(0, 0);
            p.check();
        }
        SUBCASE("images, evaluation") {
            probe<kiln::sequential<kiln::input<3, 3, 2>, kiln::batch_norm<>, kiln::flatten,
                                   kiln::linear<3>>>
                p;
            p.check();
        }
        // 19 channels: a register and a partial one; tanh is applied as batch_norm
        // stores, and the depthwise convolution after it absorbs its derivative.
        SUBCASE("images, training, an activation applied as the output is stored") {
            probe<kiln::sequential<kiln::input<3, 4, 2>, kiln::conv2d<19, 1>, kiln::batch_norm<>,
                                   kiln::tanh, kiln::depthwise_conv2d<1, 3, 1, kiln::same>,
                                   kiln::flatten, kiln::linear<3>>,
                  0, 3>
                p;
            p.mode = training(0, 0);
            p.check();
        }
    }

    TEST_CASE("batch_norm: running statistics move by the momentum, and evaluation uses them") {
        using net = kiln::sequential<kiln::input<2, 2, 3>, kiln::batch_norm<>>;
        kiln::model<net, double> model(kiln::init::pytorch_default{});
        kiln::workspace<net, double> space(4);
        std::vector<double> x(4 * 12);
        for (std::size_t i = 0; i < x.size(); ++i)
            x[i] = std::sin(0.9 * double(i)) + double(i % 3);
        const kiln::batch_view<kiln::shape<2, 2, 3>, const double> input(x.data(), 4);
        kiln::forward(model, space, input, training(0, 0));
        for (std::size_t c = 0; c < 3; ++c) {
            double mean = 0, squares = 0;
            for (std::size_t r = 0; r < 16; ++r)
                mean += x[r * 3 + c] / 16;
            for (std::size_t r = 0; r < 16; ++r)
                squares += (x[r * 3 + c] - mean) * (x[r * 3 + c] - mean);
            const double* const slice = model.parameters_of<1>();
            CHECK(slice[32 + c] == doctest::Approx(0.1 * mean).epsilon(1e-12));
            CHECK(slice[48 + c] == doctest::Approx(0.9 + 0.1 * squares / 15).epsilon(1e-12));
        }
        // Evaluation: (x - running mean) / sqrt(running var + eps) * 1 + 0.
        const auto y = kiln::forward(model, space, input);
        const double* const slice = model.parameters_of<1>();
        for (std::size_t i = 0; i < x.size(); ++i)
            CHECK(y.data()[i] ==
                  doctest::Approx((x[i] - slice[32 + i % 3]) / std::sqrt(slice[48 + i % 3] + 1e-5))
                      .epsilon(1e-12));
    }

    TEST_CASE("batch_norm: a trainer's steps on 1 and 2 cores agree (statistics over the whole "
              "mini-batch)") {
        using net = kiln::sequential<kiln::input<4, 4, 2>, kiln::conv2d<24, 3>, kiln::batch_norm<>,
                                     kiln::relu, kiln::layer_norm, kiln::flatten, kiln::linear<3>>;
        const auto x = ramp(6 * 32);
        std::vector<kiln::label_t> labels{0, 1, 2, 0, 1, 2};
        const kiln::label_view<3> y(labels.data(), 6);
        const auto run = [&](std::size_t threads) {
            kiln::thread_pool pool(threads);
            kiln::model<net> model;
            kiln::trainer<net, kiln::softmax_cross_entropy, kiln::adamw> train(
                model, kiln::adamw{0.01}, 6, pool);
            train.space().set_min_flops_per_split(0);
            train.set_max_gradient_norm(1.0); // the flat update, which must skip the statistics
            for (int i = 0; i < 3; ++i)
                train.step(kiln::batch_view<kiln::shape<4, 4, 2>, const float>(x.data(), 6), y);
            return std::vector<float>(model.parameters().begin(), model.parameters().end());
        };
        const auto one = run(1), two = run(2);
        for (std::size_t i = 0; i < one.size(); ++i)
            CHECK(one[i] == doctest::Approx(two[i]).epsilon(1e-5));
    }

    TEST_CASE("batch_norm: the optimizer's flat update leaves the running statistics alone") {
        check_flat_update_leaves_statistics<kiln::sequential<kiln::input<4>, kiln::batch_norm<>>>();
    }

    TEST_CASE("inside composites: dropout draws masks of its own, and is the identity in "
              "evaluation") {
        // The same dropout at position 1 at the top level, inside a residual, and in
        // each of three copies of a repeat: every mask differs.
        using top = kiln::sequential<kiln::input<256>, kiln::dropout<0.5>>;
        using inside = kiln::sequential<kiln::input<256>, kiln::block<kiln::dropout<0.5>>>;
        using copies = kiln::sequential<kiln::input<256>, kiln::repeat<3, kiln::dropout<0.5>>>;
        kiln::model<top> top_model;
        kiln::model<inside> inside_model;
        kiln::model<copies> copies_model;
        const std::vector<float> x(2 * 256, 1.0f);
        const auto alone = pass(top_model, x, 2, training(5, 1));
        const auto in_block = pass(inside_model, x, 2, training(5, 1));
        CHECK(in_block != alone);
        CHECK(pass(inside_model, x, 2, training(5, 1)) == in_block);
        CHECK(pass(inside_model, x, 2, {}) == x);
        // Three masks at rate 0.5 in a row keep an entry with probability 1/8, each
        // survivor scaled by 8.
        const auto thrice = pass(copies_model, x, 2, training(5, 1));
        std::size_t kept = 0;
        for (const float v : thrice)
            if (v != 0) {
                ++kept;
                CHECK(v == doctest::Approx(8.0f));
            }
        CHECK(kept > 20);
        CHECK(kept < 110); // 512 entries: 64 expected, 1/2 of them if the copies shared masks
        CHECK(pass(copies_model, x, 2, {}) == x);
    }

    TEST_CASE("inside composites: batch_norm's backward against central differences") {
        SUBCASE("in a residual, training") {
            probe<kiln::sequential<kiln::input<5, 4, 2>, kiln::conv2d<5, 1>,
                                   kiln::residual<kiln::conv2d<5, 3, 1, kiln::same>,
                                                  kiln::batch_norm<>, kiln::relu>,
                                   kiln::flatten, kiln::linear<3>>,
                  0, 3>
                p;
            p.mode = training(0, 0);
            p.check();
        }
        SUBCASE("in two copies of a repeat, training and evaluation") {
            using net =
                kiln::sequential<kiln::input<6>,
                                 kiln::repeat<2, kiln::linear<6>, kiln::batch_norm<>, kiln::tanh>,
                                 kiln::linear<2>>;
            probe<net, 0, 4> trained;
            trained.mode = training(0, 0);
            trained.check();
            probe<net, 0, 4>{}.check();
        }
    }

    TEST_CASE("inside composites: batch_norm's running statistics move, the trainer keeps "
              "the batch whole and its flat update leaves them alone") {
        using net = kiln::sequential<kiln::input<4>, kiln::block<kiln::batch_norm<>>>;
        static_assert(kiln::needs_whole_batch<net::layer_t<1>> &&
                      kiln::mode_reading_layer<net::layer_t<1>>);
        check_flat_update_leaves_statistics<net>();
    }

    TEST_CASE("batch_norm against PyTorch: BatchNorm1d and BatchNorm2d, training and evaluation") {
        check_batch_norm_against_torch<kiln::sequential<kiln::input<5>, kiln::batch_norm<>>>(
            "vector");
        check_batch_norm_against_torch<
            kiln::sequential<kiln::input<2, 3, 3>, kiln::batch_norm<0.3, 1e-3>>>("image");
    }

    TEST_CASE("batch_norm's running statistics and dropout's seed and step go through a "
              "checkpoint") {
        using net = kiln::sequential<kiln::input<6>, kiln::linear<8>, kiln::batch_norm<>,
                                     kiln::relu, kiln::dropout<0.5>, kiln::linear<3>>;
        const auto x = ramp(5 * 6);
        std::vector<kiln::label_t> labels{0, 1, 2, 0, 1};
        const kiln::label_view<3> y(labels.data(), 5);
        const kiln::batch_view<kiln::shape<6>, const float> input(x.data(), 5);
        kiln::testing::temp_dir dir;
        // Four steps straight, against two, a checkpoint, a fresh trainer and two more.
        kiln::model<net> straight_model;
        kiln::trainer<net, kiln::softmax_cross_entropy, kiln::adamw> straight(straight_model,
                                                                              kiln::adamw{0.01}, 5);
        straight.set_seed(12);
        for (int i = 0; i < 4; ++i)
            straight.step(input, y);

        kiln::model<net> first_model;
        kiln::trainer<net, kiln::softmax_cross_entropy, kiln::adamw> first(first_model,
                                                                           kiln::adamw{0.01}, 5);
        first.set_seed(12);
        first.step(input, y);
        first.step(input, y);
        auto state = kiln::checkpoint::of<net, float>();
        kiln::store(state, first);
        state.save(dir / "run.kiln");

        kiln::model<net> resumed_model(kiln::init::pytorch_default{}, 99);
        kiln::trainer<net, kiln::softmax_cross_entropy, kiln::adamw> resumed(resumed_model,
                                                                             kiln::adamw{0.01}, 5);
        kiln::restore(kiln::checkpoint::load<net, float>(dir / "run.kiln"), resumed);
        CHECK(resumed.seed() == 12);
        const auto running = resumed_model.layer<2>().part("running_var");
        const auto kept = first_model.layer<2>().part("running_var");
        CHECK(std::vector<float>(running.begin(), running.end()) ==
              std::vector<float>(kept.begin(), kept.end()));
        resumed.step(input, y);
        resumed.step(input, y);
        CHECK(std::vector<float>(resumed_model.parameters().begin(),
                                 resumed_model.parameters().end()) ==
              std::vector<float>(straight_model.parameters().begin(),
                                 straight_model.parameters().end()));
    }
}
