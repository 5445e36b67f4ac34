// Sizes and labels from outside the program: every size computed from a count a
// caller gives (a capacity, a set's size, a batch) is checked before anything is
// allocated, and refused with a one-line error naming it; every label is checked
// where it enters (a view over the caller's memory, a labeled set, shuffled
// batches, evaluate), never inside a training step.
#include <kiln/core/checked_size.hpp>
#include <kiln/data/labeled_set.hpp>
#include <kiln/kiln.hpp>
#include <kiln/train/kernel_perceptron.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace {

using tiny = kiln::sequential<kiln::input<4>, kiln::linear<5>, kiln::relu, kiln::linear<3>>;
using sequence = kiln::sequential<kiln::tokens<2, 3>, kiln::embedding<3, 4>, kiln::linear<3>>;
using scorer = kiln::sequential<kiln::input<4>, kiln::linear<1>>;
constexpr std::size_t huge = std::size_t{1} << 40;  // 4 TiB of floats: no machine's
constexpr std::size_t wraps = std::size_t{1} << 62; // x 4 bytes wraps around 2^64
constexpr std::size_t largest = std::numeric_limits<std::size_t>::max();

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

template <class Work>
std::string size_error_of(Work&& work) {
    try {
        work();
    } catch (const kiln::size_error& error) {
        return error.what();
    }
    return "(no size_error)";
}

} // namespace

TEST_SUITE("inputs") {
    TEST_CASE("checked sizes: products and sums that wrap are refused, naming what they size") {
        CHECK(kiln::checked_product(3, 7, "x") == 21);
        CHECK(kiln::checked_sum(3, 7, "x") == 10);
        CHECK(kiln::checked_product(0, largest, "x") == 0);
        CHECK_THROWS_WITH_AS(kiln::checked_product(std::size_t{1} << 59, 32, "--batch"),
                             "--batch: 576460752303423488 x 32 is more than a size can hold "
                             "(2^64 - 1)",
                             kiln::size_error);
        CHECK_THROWS_AS(kiln::checked_sum(largest, 1, "x"), kiln::size_error);
        std::size_t product = 5;
        CHECK_FALSE(kiln::multiply_fits(largest, 2, product));
        CHECK(product == 5);
        CHECK(kiln::checked_bytes<double>(3, "x") == 24);
        CHECK(contains(size_error_of([] { (void)kiln::checked_bytes<float>(wraps, "flag"); }),
                       "flag: 4611686018427387904 x 4 bytes is more than a size can hold"));
        CHECK(contains(size_error_of([] { (void)kiln::checked_bytes<float>(huge, "flag"); }),
                       "flag needs 4.0 TiB, more than this machine's memory ("));
        CHECK(kiln::machine_memory_bytes() > (std::uint64_t{1} << 24));
    }

    TEST_CASE("buffers, workspaces and sets refuse an impossible size before allocating") {
        // The padded count wrapped to 0 and the product of count and size to a
        // small block, which the zero fill then wrote past.
        CHECK(contains(size_error_of([] { kiln::aligned_buffer<float> b(largest); }),
                       "kiln::aligned_buffer"));
        CHECK(contains(size_error_of([] { kiln::aligned_buffer<float> b(wraps); }),
                       "kiln::aligned_buffer"));
        CHECK(contains(size_error_of([] { kiln::aligned_buffer<float> b(huge); }),
                       "more than this machine's memory"));
        CHECK(contains(size_error_of([] { kiln::workspace<tiny> space(wraps); }),
                       "kiln::workspace capacity: 4611686018427387904 x "));
        CHECK(contains(size_error_of([] { kiln::workspace<tiny> space(huge); }),
                       "kiln::workspace for 1099511627776 examples needs"));
        CHECK(contains(size_error_of([] {
                           kiln::model<tiny> net;
                           kiln::trainer<tiny> t(net, {}, wraps);
                       }),
                       "kiln::workspace capacity"));
        CHECK(contains(size_error_of([] { kiln::data::labeled_set<kiln::shape<4>, 3> s(wraps); }),
                       "kiln::data::labeled_set of 4611686018427387904 examples"));
        CHECK(contains(size_error_of([] { kiln::data::labeled_set<kiln::shape<4>, 3> s(huge); }),
                       "more than this machine's memory"));
        CHECK(contains(size_error_of([] {
                           kiln::kernel_perceptron<kiln::shape<4>, 3, kiln::linear_kernel> p({},
                                                                                             huge);
                       }),
                       "kiln::kernel_perceptron"));
        // The mini-batch is checked against the set before its staging is allocated.
        kiln::data::labeled_set<kiln::shape<4>, 3> set(10);
        CHECK_THROWS_WITH_AS(kiln::shuffled_batches(set, huge),
                             "kiln::shuffled_batches: a mini-batch of 1099511627776 examples from "
                             "a set of 10",
                             std::invalid_argument);
    }

    TEST_CASE("a label_view over a caller's labels refuses one outside its classes") {
        const std::vector<kiln::label_t> one_based{1, 2, 3};
        CHECK_THROWS_WITH_AS((kiln::label_view<3>(one_based.data(), 3)),
                             "kiln::label_view<3>: label 3 of example 2 is not a class in 0..2",
                             kiln::label_error);
        const std::vector<kiln::label_t> negative{0, -7};
        CHECK_THROWS_AS((kiln::label_view<3>(negative.data(), 2)), kiln::label_error);
        CHECK(kiln::label_view<3>(one_based.data(), 2).batch() == 2); // 1 and 2 are classes
        // The logistic loss's -1 is not a class, not even of two classes ...
        const std::vector<kiln::label_t> signs{-1, 1, 1, -1};
        CHECK_THROWS_WITH_AS((kiln::label_view<2>(signs.data(), 4)),
                             "kiln::label_view<2>: label -1 of example 0 is not a class in 0..1",
                             kiln::label_error);
        // ... it is a sign, in a view of its own, which holds -1 and +1 only.
        CHECK(kiln::sign_label_view(signs.data(), 4)[0] == -1);
        const std::vector<kiln::label_t> zero_one{1, 0};
        CHECK_THROWS_WITH_AS(kiln::sign_label_view(zero_one.data(), 2),
                             "kiln::sign_label_view: label 0 of example 1 is not -1 or +1 (the "
                             "logistic loss's labels)",
                             kiln::label_error);
        // Labels known to be good (a view's rows, kiln's staging) are not looked at again.
        CHECK(kiln::label_view<3>(one_based.data(), 3, kiln::labels_checked).batch() == 3);
    }

    TEST_CASE("a sequence's label_view checks the label of every position, not only the first") {
        // Three examples of two positions: six labels, the last one past 3 classes.
        const std::vector<kiln::label_t> positions{0, 1, 2, 0, 1, 3};
        CHECK_THROWS_WITH_AS((kiln::label_view<3, 2>(positions.data(), 3)),
                             "kiln::label_view<3, 2>: label 3 of example 2 is not a class in "
                             "0..2 (it is at position 1 of the example's 2)",
                             kiln::label_error);
        const kiln::label_view<3, 2> two(positions.data(), 2);
        CHECK(two.batch() == 2);
        CHECK(two.size() == 4);
        CHECK(two.rows(1, 1)[1] == 0); // rows are examples: position 1 of example 1
        // So none reaches a sequence trainer's step.
        kiln::model<sequence> net;
        kiln::trainer<sequence, kiln::sequence_cross_entropy> train(net, kiln::sgd{0.1}, 3);
        const std::vector<float> ids(3 * 2, 1.0f);
        const kiln::batch_view<kiln::shape<2>, const float> inputs(ids.data(), 3);
        CHECK_THROWS_AS(train.step(inputs, kiln::label_view<3, 2>(positions.data(), 3)),
                        kiln::label_error);
        std::vector<kiln::label_t> fixed = positions;
        fixed[5] = 2;
        CHECK(std::isfinite(train.step(inputs, kiln::label_view<3, 2>(fixed.data(), 3))));
        // Examples x positions that wrap around: refused before a label is read.
        CHECK_THROWS_AS((kiln::label_view<3, 8>(positions.data(), wraps)), kiln::size_error);
    }

    TEST_CASE("a -1 in a view of two classes never reaches a class-index loss's step") {
        using pair = kiln::sequential<kiln::input<4>, kiln::linear<2>>;
        kiln::model<pair> net;
        kiln::trainer<pair> train(net, kiln::sgd{0.1}, 6);
        const std::vector<float> x(6 * 4, 0.5f);
        const kiln::batch_view<kiln::shape<4>, const float> inputs(x.data(), 6);
        const std::vector<kiln::label_t> signs{1, -1, 1, -1, 1, -1};
        const std::vector<float> before(net.parameters().begin(), net.parameters().end());
        CHECK_THROWS_WITH_AS(train.step(inputs, kiln::label_view<2>(signs.data(), 6)),
                             "kiln::label_view<2>: label -1 of example 1 is not a class in 0..1",
                             kiln::label_error);
        CHECK_THROWS_AS(train.compute_gradients(inputs, kiln::label_view<2>(signs.data(), 6)),
                        kiln::label_error);
        CHECK_THROWS_AS(train.loss(inputs, kiln::label_view<2>(signs.data(), 6)),
                        kiln::label_error);
        CHECK(std::equal(before.begin(), before.end(), net.parameters().begin()));
        // As signs, they are the logistic loss's (a sign_label_view given to this
        // trainer does not compile: test/compile_fail/sign_labels_for_a_class_loss.cpp).
        kiln::model<kiln::sequential<kiln::input<4>, kiln::linear<1>>> score_net;
        kiln::trainer<kiln::sequential<kiln::input<4>, kiln::linear<1>>, kiln::logistic> scores(
            score_net, kiln::sgd{0.1}, 6);
        CHECK(std::isfinite(scores.step(inputs, kiln::sign_label_view(signs.data(), 6))));
    }

    TEST_CASE("labels are checked where they enter training and evaluation") {
        kiln::model<tiny> net(kiln::init::normal{0, 0.5}, 1);
        kiln::workspace<tiny> space(4);
        const std::vector<float> x(6 * 4, 0.5f);
        const kiln::batch_view<kiln::shape<4>, const float> inputs(x.data(), 6);
        // Labels the caller vouched for (labels_checked) are looked at again by an
        // evaluation, which is no step.
        std::vector<kiln::label_t> y{0, 1, 2, 0, 3, 1}; // 3: past the 3 logits
        const kiln::label_view<3> unchecked(y.data(), 6, kiln::labels_checked);
        CHECK_THROWS_WITH_AS(kiln::evaluate(net, space, inputs, unchecked),
                             "kiln::evaluate: label 3 of example 4 is not a class in 0..2",
                             kiln::label_error);
        CHECK_THROWS_AS(kiln::evaluator<tiny>(2).evaluate(net, inputs, unchecked),
                        kiln::label_error);
        kiln::model<scorer> score_net;
        kiln::workspace<scorer> score_space(6);
        std::vector<kiln::label_t> zero_one{1, 0, 1, 1, 0, 0};
        CHECK_THROWS_WITH_AS(kiln::evaluate<kiln::logistic>(
                                 score_net, score_space, inputs,
                                 kiln::sign_label_view(zero_one.data(), 6, kiln::labels_checked)),
                             "kiln::evaluate: label 0 of example 1 is not -1 or +1 (the logistic "
                             "loss's labels)",
                             kiln::label_error);

        // A sequence loss reads a label per position: all of them are checked.
        kiln::model<sequence> seq_net;
        const std::vector<float> ids(6 * 2, 1.0f);
        std::vector<kiln::label_t> positions(6 * 2, 1);
        positions[2 * 4 + 1] = 3;
        kiln::evaluator<sequence, kiln::sequence_cross_entropy> by_position(2);
        CHECK_THROWS_WITH_AS(
            by_position.mean_loss(
                seq_net, kiln::batch_view<kiln::shape<2>, const float>(ids.data(), 6),
                kiln::label_view<3, 2>(positions.data(), 6, kiln::labels_checked)),
            "kiln::evaluator::mean_loss: label 3 of example 4 is not a class in 0..2 (it is at "
            "position 1 of the example's 2)",
            kiln::label_error);

        // Fewer labels than examples would be read past: refused, step included.
        kiln::trainer<tiny> train(net, kiln::sgd{0.1}, 6);
        y[4] = 2;
        CHECK_THROWS_WITH_AS(train.step(inputs, kiln::label_view<3>(y.data(), 5)),
                             "kiln::trainer::step: 6 examples but labels for 5", std::length_error);
        CHECK_THROWS_AS(kiln::evaluate(net, space, inputs, kiln::label_view<3>(y.data(), 5)),
                        std::length_error);
        CHECK(std::isfinite(train.step(inputs, kiln::label_view<3>(y.data(), 6))));
    }

    TEST_CASE("shuffled_batches refuses a set whose labels are not its classes") {
        kiln::data::labeled_set<kiln::shape<4>, 3> set(8);
        for (std::size_t i = 0; i < set.size(); ++i)
            set.mutable_labels()[i] = static_cast<kiln::label_t>(i % 3 + 1); // 1-based
        CHECK_THROWS_WITH_AS(kiln::shuffled_batches(set, 2),
                             "kiln::data::labeled_set: label 3 of example 2 is not a class in 0..2",
                             kiln::label_error);
        for (std::size_t i = 0; i < set.size(); ++i)
            set.mutable_labels()[i] = static_cast<kiln::label_t>(i % 3);
        kiln::shuffled_batches batches(set, 2);
        set.mutable_labels()[5] = 7; // after the batches were made: gather still refuses it
        kiln::rng random(1);
        kiln::model<tiny> net;
        kiln::trainer<tiny> train(net, kiln::sgd{0.1}, 2);
        CHECK_THROWS_WITH_AS(
            batches.epoch(
                random, [&](std::size_t, auto inputs, auto labels) { train.step(inputs, labels); }),
            "kiln::data::labeled_set: label 7 of example 5 is not a class in 0..2",
            kiln::label_error);
    }

    TEST_CASE("the kernel perceptron refuses a label that would index past its classes") {
        kiln::kernel_perceptron<kiln::shape<4>, 3, kiln::linear_kernel> learner({}, 2);
        const std::array<float, 4> x{1, 2, 3, 4};
        CHECK_THROWS_WITH_AS(learner.learn(x.data(), 1, 3),
                             "kiln::kernel_perceptron::learn: label 3 of example 1 is not a class "
                             "in 0..2",
                             kiln::label_error);
        CHECK(learner.learn(x.data(), 1, 2)); // a mistake: every score was 0, class 0 on top
    }
}
