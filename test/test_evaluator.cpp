// kiln::evaluator runs evaluation on several cores: it must give what one
// workspace gives (the same correct count, the loss to float rounding), the same
// result bit for bit however many times it runs, and a sequence loss's mean over
// every position. kiln::predict must give the labels evaluate counts as right.
#include <kiln/kiln.hpp>

#include "support/random_tokens.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <vector>

namespace {

using classifier = kiln::sequential<kiln::input<20>, kiln::linear<16>, kiln::relu, kiln::linear<5>>;

struct classifier_data {
    std::vector<float> x;
    std::vector<kiln::label_t> y;
    explicit classifier_data(std::size_t count) : x(count * 20), y(count) {
        kiln::rng random(7);
        for (auto& v : x)
            v = static_cast<float>(random.normal(0.0, 1.0));
        for (auto& label : y)
            label = static_cast<kiln::label_t>(random.below(5));
    }
    kiln::batch_view<kiln::shape<20>, const float> inputs() const { return {x.data(), y.size()}; }
    kiln::label_view<5> labels() const { return {y.data(), y.size()}; }
};

} // namespace

TEST_SUITE("evaluator") {
    TEST_CASE("a classifier's loss and accuracy on 1, 2 and 3 cores equal one workspace's") {
        const classifier_data data(1001); // no multiple of any chunk or core count
        const kiln::model<classifier> net(kiln::init::normal{0.0, 0.5}, 3);
        kiln::workspace<classifier> space(64);
        const kiln::evaluation expected = kiln::evaluate(net, space, data.inputs(), data.labels());
        REQUIRE(expected.correct > 150); // an untrained model, but not a constant one
        REQUIRE(expected.correct < 1001);
        for (std::size_t threads : {1, 2, 3})
            for (std::size_t chunk : {1, 7, 64}) {
                kiln::thread_pool pool(threads);
                kiln::evaluator<classifier> evaluator(chunk, pool);
                const kiln::evaluation got = evaluator.evaluate(net, data.inputs(), data.labels());
                CHECK_MESSAGE(got.count == 1001, threads, " threads, chunk ", chunk);
                CHECK_MESSAGE(got.correct == expected.correct, threads, " threads, chunk ", chunk);
                CHECK_MESSAGE(got.loss == doctest::Approx(expected.loss).epsilon(1e-6), threads,
                              " threads, chunk ", chunk);
                CHECK(got.accuracy == doctest::Approx(expected.accuracy));
                CHECK(evaluator.mean_loss(net, data.inputs(), data.labels()) ==
                      doctest::Approx(expected.loss).epsilon(1e-6));
                // Again: the parts and the order of their sums do not change.
                for (int repeat = 0; repeat < 20; ++repeat)
                    CHECK(evaluator.evaluate(net, data.inputs(), data.labels()).loss == got.loss);
            }
    }

    TEST_CASE("fewer examples than cores, and none") {
        const classifier_data data(1);
        const kiln::model<classifier> net(kiln::init::normal{0.0, 0.5}, 3);
        kiln::thread_pool pool(2);
        kiln::evaluator<classifier> evaluator(4, pool);
        kiln::workspace<classifier> space(4);
        const auto expected = kiln::evaluate(net, space, data.inputs(), data.labels());
        CHECK(evaluator.evaluate(net, data.inputs(), data.labels()).loss ==
              doctest::Approx(expected.loss).epsilon(1e-6));
        const auto empty =
            evaluator.evaluate(net, data.inputs().rows(0, 0), data.labels().rows(0, 0));
        CHECK(empty.count == 0);
        CHECK(empty.loss == 0);
    }

    TEST_CASE("a sequence loss: the mean over every position of every example") {
        using tiny = kiln::sequential<kiln::tokens<6, 9>, kiln::embedding<9, 8>,
                                      kiln::add_position<6>, kiln::layer_norm, kiln::linear<9>>;
        const std::size_t batches = 13, batch = 3, examples = batches * batch;
        kiln::rng random(11);
        std::vector<float> x(examples * 6);
        std::vector<kiln::label_t> y(examples * 6);
        kiln::testing::random_tokens(random, 9, x, y);
        kiln::model<tiny> net(kiln::init::pytorch_default{}, random);
        kiln::trainer<tiny, kiln::sequence_cross_entropy> train(net, kiln::sgd{0.1}, batch);
        double expected = 0; // the course's estimate: the mean of the batches' losses
        for (std::size_t b = 0; b < batches; ++b)
            expected += train.loss(
                kiln::batch_view<kiln::shape<6>, const float>(x.data() + b * batch * 6, batch),
                kiln::label_view<9, 6>(y.data() + b * batch * 6, batch));
        expected /= batches;
        for (std::size_t threads : {1, 2}) {
            kiln::thread_pool pool(threads);
            kiln::evaluator<tiny, kiln::sequence_cross_entropy> evaluator(batch, pool);
            const double got = evaluator.mean_loss(
                net, kiln::batch_view<kiln::shape<6>, const float>(x.data(), examples),
                kiln::label_view<9, 6>(y.data(), examples));
            CHECK_MESSAGE(got == doctest::Approx(expected).epsilon(1e-6), threads, " threads");
        }
    }

    TEST_CASE("a sequence loss's accuracy counts every position, in chunks and on every core") {
        using tiny = kiln::sequential<kiln::tokens<5, 7>, kiln::embedding<7, 8>,
                                      kiln::add_position<5>, kiln::layer_norm, kiln::linear<7>>;
        const std::size_t examples = 23;
        kiln::rng random(5);
        std::vector<float> x(examples * 5);
        std::vector<kiln::label_t> y(examples * 5);
        kiln::testing::random_tokens(random, 7, x, y);
        const kiln::model<tiny> net(kiln::init::pytorch_default{}, random);
        // Expected: a whole-batch pass, each position's first largest logit.
        kiln::workspace<tiny> whole(examples);
        const auto logits = kiln::forward(
            net, whole, kiln::batch_view<kiln::shape<5>, const float>(x.data(), examples));
        std::size_t correct = 0;
        for (std::size_t label = 0; label < examples * 5; ++label) {
            const float* scores = logits.data() + label * 7;
            correct += static_cast<kiln::label_t>(std::max_element(scores, scores + 7) - scores) ==
                       y[label];
        }
        REQUIRE(correct > 0);
        const kiln::batch_view<kiln::shape<5>, const float> inputs(x.data(), examples);
        const kiln::label_view<7, 5> labels(y.data(), examples);
        const double mean_loss =
            kiln::evaluator<tiny, kiln::sequence_cross_entropy>(examples).mean_loss(net, inputs,
                                                                                    labels);
        for (std::size_t chunk : {1, 4, 23}) { // chunks that start past the first example
            kiln::workspace<tiny> space(chunk);
            const auto got =
                kiln::evaluate<kiln::sequence_cross_entropy>(net, space, inputs, labels);
            CHECK_MESSAGE(got.correct == correct, "chunk ", chunk);
            CHECK(got.count == examples);
            CHECK(got.accuracy == doctest::Approx(static_cast<double>(correct) / (examples * 5)));
            CHECK(got.loss == doctest::Approx(mean_loss).epsilon(1e-6));
            for (std::size_t threads : {1, 2}) {
                kiln::thread_pool pool(threads);
                kiln::evaluator<tiny, kiln::sequence_cross_entropy> evaluator(chunk, pool);
                const auto split = evaluator.evaluate(net, inputs, labels);
                CHECK_MESSAGE(split.correct == correct, threads, " threads, chunk ", chunk);
                CHECK(split.loss == doctest::Approx(mean_loss).epsilon(1e-6));
            }
        }
    }

    TEST_CASE("predict: the first largest output, for one example and for a batch in chunks") {
        // No parameters: the logits are relu(x), so the answer is known.
        using pick = kiln::sequential<kiln::input<5>, kiln::relu>;
        const kiln::model<pick> net;
        kiln::workspace<pick> space(2); // the batch of 4 below runs in two chunks
        const std::array<float, 5> largest_second{0.f, 3.f, 1.f, 2.f, -1.f};
        const std::array<float, 5> tie{2.f, 1.f, 4.f, 4.f, 0.f};
        const std::array<float, 5> last{-1.f, 0.f, 0.5f, 0.25f, 9.f};
        const std::array<float, 5> none_positive{-3.f, -1.f, -2.f, -5.f, -4.f};
        CHECK(kiln::predict(net, space, largest_second) == 1);
        CHECK(kiln::predict(net, space, tie) == 2); // the first of equal logits
        CHECK(kiln::predict(net, space, last) == 4);
        CHECK(kiln::predict(net, space, none_positive) == 0); // all relu to 0

        std::vector<float> x;
        for (const auto* example : {&largest_second, &tie, &last, &none_positive})
            x.insert(x.end(), example->begin(), example->end());
        std::array<kiln::label_t, 5> out{7, 7, 7, 7, 7};
        kiln::predict(net, space, kiln::batch_view<kiln::shape<5>, const float>(x.data(), 4),
                      std::span<kiln::label_t>(out));
        CHECK(out == std::array<kiln::label_t, 5>{1, 2, 4, 0, 7}); // the fifth left alone
        CHECK_THROWS_AS(kiln::predict(net, space,
                                      kiln::batch_view<kiln::shape<5>, const float>(x.data(), 4),
                                      std::span<kiln::label_t>(out).first(3)),
                        std::invalid_argument);
    }

    TEST_CASE("predict gives the labels evaluate counts as right, example by example") {
        const classifier_data data(1001);
        const kiln::model<classifier> net(kiln::init::normal{0.0, 0.5}, 3);
        kiln::workspace<classifier> whole(1001);
        const auto logits = kiln::forward(net, whole, data.inputs());
        std::vector<kiln::label_t> expected(1001);
        for (std::size_t b = 0; b < 1001; ++b) {
            const float* const z = logits.data() + b * 5;
            expected[b] = static_cast<kiln::label_t>(std::max_element(z, z + 5) - z);
        }
        kiln::workspace<classifier> space(64);
        std::vector<kiln::label_t> batch(1001, -1);
        kiln::predict(net, space, data.inputs(), std::span<kiln::label_t>(batch));
        CHECK(batch == expected);
        std::size_t correct = 0;
        for (std::size_t b = 0; b < 1001; ++b) {
            const kiln::label_t one = kiln::predict(net, space, data.inputs()[b]);
            CHECK_MESSAGE(one == expected[b], "example ", b);
            correct += one == data.labels()[b];
        }
        CHECK(correct == kiln::evaluate(net, space, data.inputs(), data.labels()).correct);
    }

    TEST_CASE("predict with the logistic loss gives the score's sign as -1 or +1") {
        using score = kiln::sequential<kiln::input<1>, kiln::relu>;
        const kiln::model<score> net;
        kiln::workspace<score> space(3);
        CHECK(kiln::predict<kiln::logistic>(net, space, std::array<float, 1>{0.5f}) == 1);
        CHECK(kiln::predict<kiln::logistic>(net, space, std::array<float, 1>{-2.f}) == -1);
        CHECK(kiln::predict<kiln::logistic>(net, space, std::array<float, 1>{0.f}) == -1);
    }

    TEST_CASE("predict with a sequence loss gives one label per position") {
        using tiny = kiln::sequential<kiln::tokens<5, 7>, kiln::embedding<7, 8>,
                                      kiln::add_position<5>, kiln::layer_norm, kiln::linear<7>>;
        const std::size_t examples = 9;
        kiln::rng random(13);
        std::vector<float> x(examples * 5);
        std::vector<kiln::label_t> y(examples * 5);
        kiln::testing::random_tokens(random, 7, x, y);
        const kiln::model<tiny> net(kiln::init::pytorch_default{}, random);
        const kiln::batch_view<kiln::shape<5>, const float> inputs(x.data(), examples);
        kiln::workspace<tiny> whole(examples);
        const auto logits = kiln::forward(net, whole, inputs);
        std::vector<kiln::label_t> expected(examples * 5);
        for (std::size_t label = 0; label < expected.size(); ++label) {
            const float* const z = logits.data() + label * 7;
            expected[label] = static_cast<kiln::label_t>(std::max_element(z, z + 7) - z);
        }
        REQUIRE(std::count(expected.begin(), expected.end(), expected[0]) < 45); // not constant
        kiln::workspace<tiny> space(4);
        std::vector<kiln::label_t> got(examples * 5, -1);
        kiln::predict<kiln::sequence_cross_entropy>(net, space, inputs,
                                                    std::span<kiln::label_t>(got));
        CHECK(got == expected);
    }
}
