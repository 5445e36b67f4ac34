// A training step allocates nothing: every operator new in this program is
// counted, and the count must not move across steps (after the first, which may
// touch lazily made things such as the thread pool).
#include <kiln/kiln.hpp>

#include <doctest/doctest.h>

// Sanitizers bring their own operator new; meson defines KILN_SANITIZED for
// sanitized builds (test/meson.build), where this test is left out.
#ifndef KILN_SANITIZED

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

namespace {
std::atomic<std::size_t> allocations{0};
}

// These replacements pair malloc with free; g++ 12 takes free in operator delete for
// a mismatch wherever it inlines operator new into the caller's cleanup path.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    return operator new(size);
}
void* operator new(std::size_t size, std::align_val_t alignment) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    const std::size_t a = static_cast<std::size_t>(alignment);
    if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
    return operator new(size, alignment);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}

// Allocations made by three steps and an evaluation after a first step (which may
// set up what later steps reuse). Counted before any check: doctest's message may
// allocate.
template <class Trainer, class Net, class Inputs, class Labels>
std::size_t allocations_in_steps(Trainer& train, const Net& net, Inputs inputs, Labels labels) {
    train.step(inputs, labels);
    const std::size_t before = allocations.load();
    for (int step = 0; step < 3; ++step)
        train.step(inputs, labels);
    (void)kiln::evaluate(net, train.space(), inputs, labels);
    return allocations.load() - before;
}

TEST_SUITE("allocation") {
    TEST_CASE("training steps (scheduled and clipped too) and evaluation (one workspace or an "
              "evaluator) allocate nothing, on one thread or two") {
        using mlp =
            kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;
        for (std::size_t threads : {1, 2})
            for (std::size_t batch : {1, 5, 500}) {
                kiln::thread_pool pool(threads);
                kiln::model<mlp> net;
                kiln::trainer<mlp> train(net, kiln::sgd{.learning_rate = 0.01, .momentum = 0.9},
                                         batch, pool);
                train.space().set_min_flops_per_split(0);
                std::vector<float> x(batch * 784, 0.5f);
                std::vector<kiln::label_t> y(batch, 3);
                const kiln::batch_view<kiln::shape<784>, const float> inputs(x.data(), batch);
                const kiln::label_view<10> labels(y.data(), batch);
                kiln::evaluator<mlp> evaluator(batch, pool);
                train.step(inputs, labels);
                const std::size_t before = allocations.load();
                for (int step = 0; step < 5; ++step)
                    train.step(inputs, labels);
                // The training controls: a rate changed by hand, a schedule, clipping.
                train.optimizer().set_learning_rate(0.02);
                train.step(inputs, labels);
                train.set_schedule(kiln::warmup_cosine{.warmup_steps = 2, .total_steps = 9});
                train.set_max_gradient_norm(0.5);
                for (int step = 0; step < 3; ++step)
                    train.step(inputs, labels);
                train.compute_gradients(inputs, labels);
                (void)kiln::evaluate(net, train.space(), inputs, labels);
                (void)evaluator.evaluate(net, inputs, labels);
                (void)evaluator.mean_loss(net, inputs, labels);
                const std::size_t after = allocations.load(); // before doctest allocates
                CHECK_MESSAGE(after == before, "threads ", threads, ", batch ", batch);
            }
    }

    TEST_CASE("a transformer's steps allocate nothing, split across two cores or not, clipped or "
              "not") {
        using gpt = kiln::sequential<
            kiln::tokens<8, 11>, kiln::embedding<11, 16>, kiln::add_position<8>,
            kiln::repeat<
                2, kiln::residual<kiln::layer_norm, kiln::causal_self_attention<2>>,
                kiln::residual<kiln::layer_norm, kiln::linear<32>, kiln::relu, kiln::linear<16>>>,
            kiln::layer_norm, kiln::linear<11>>;
        for (std::size_t threads : {1, 2}) {
            kiln::thread_pool pool(threads);
            kiln::model<gpt> net(kiln::init::pytorch_default{}, 1);
            kiln::trainer<gpt, kiln::sequence_cross_entropy, kiln::adamw> train(net, {}, 4, pool);
            std::vector<float> x(4 * 8, 3.0f);
            std::vector<kiln::label_t> y(4 * 8, 5);
            const kiln::batch_view<kiln::shape<8>, const float> inputs(x.data(), 4);
            const kiln::label_view<11, 8> labels(y.data(), 4);
            train.step(inputs, labels);
            const std::size_t before = allocations.load();
            for (int step = 0; step < 3; ++step)
                train.step(inputs, labels);
            // Scheduled and clipped, on one core or split.
            train.set_schedule(kiln::step_decay{.period = 2});
            train.set_max_gradient_norm(0.5);
            for (int step = 0; step < 3; ++step)
                train.step(inputs, labels);
            const std::size_t after = allocations.load();
            CHECK_MESSAGE(after == before, "threads ", threads);
        }
    }

    TEST_CASE_TEMPLATE("a CNN's training steps allocate nothing either, on one thread or two", cnn,
                       kiln::sequential<kiln::input<12, 12>, kiln::conv2d<16, 3>, kiln::relu,
                                        kiln::max_pool2d<2>, kiln::conv2d<20, 2>, kiln::relu,
                                        kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>,
                       // Depthwise, transposed and upsampling layers.
                       kiln::sequential<kiln::input<12, 12>, kiln::conv2d<4, 3, 2, 1>,
                                        kiln::depthwise_conv2d<2, 3, 1, kiln::same>, kiln::relu,
                                        kiln::conv_transpose2d<3, 2, 2>, kiln::upsample2d<2>,
                                        kiln::global_avg_pool2d, kiln::linear<10>>) {
        for (std::size_t threads : {1, 2}) {
            kiln::thread_pool pool(threads);
            kiln::model<cnn> net(kiln::init::pytorch_default{}, 1);
            kiln::trainer<cnn> train(net, kiln::sgd{.learning_rate = 0.01}, 5, pool);
            train.space().set_min_flops_per_split(0);
            std::vector<float> x(5 * 144, 0.5f);
            std::vector<kiln::label_t> y(5, 3);
            const kiln::batch_view<kiln::shape<12, 12>, const float> inputs(x.data(), 5);
            const kiln::label_view<10> labels(y.data(), 5);
            CHECK_MESSAGE(allocations_in_steps(train, net, inputs, labels) == 0, "threads ",
                          threads);
        }
    }

    TEST_CASE("a recurrent network's steps (gru, lstm, backprop through time) allocate nothing, "
              "on one thread or two") {
        using rnn = kiln::sequential<kiln::input<7, 3>, kiln::gru<12>, kiln::lstm<9>,
                                     kiln::last_step, kiln::linear<4>>;
        for (std::size_t threads : {1, 2}) {
            kiln::thread_pool pool(threads);
            kiln::model<rnn> net(kiln::init::pytorch_default{}, 1);
            kiln::trainer<rnn, kiln::softmax_cross_entropy, kiln::adamw> train(net, {}, 5, pool);
            std::vector<float> x(5 * 21, 0.5f);
            std::vector<kiln::label_t> y(5, 3);
            const kiln::batch_view<kiln::shape<7, 3>, const float> inputs(x.data(), 5);
            const kiln::label_view<4> labels(y.data(), 5);
            CHECK_MESSAGE(allocations_in_steps(train, net, inputs, labels) == 0, "threads ",
                          threads);
        }
    }

    TEST_CASE("the regression, multi-label and smoothed losses' steps and evaluations allocate "
              "nothing, split across two cores or not") {
        // A residual makes the step split its mini-batch on two cores.
        using net = kiln::sequential<kiln::input<6>, kiln::linear<8>,
                                     kiln::residual<kiln::linear<8>, kiln::relu>, kiln::linear<4>>;
        std::vector<float> x(5 * 6, 0.5f), t(5 * 4, 0.25f);
        std::vector<kiln::label_t> per_output(5 * 4, 1), classes(5, 2);
        const kiln::batch_view<kiln::shape<6>, const float> inputs(x.data(), 5);
        const kiln::target_view<kiln::shape<4>> targets(t.data(), 5);
        const kiln::label_view<2, 4> labels_per_output(per_output.data(), 5);
        const kiln::label_view<4> labels(classes.data(), 5);
        auto steps_allocate = [&]<class Loss>(std::type_identity<Loss>, auto truth,
                                              std::size_t threads) {
            kiln::thread_pool pool(threads);
            kiln::model<net> model(kiln::init::pytorch_default{}, 1);
            kiln::trainer<net, Loss, kiln::adamw> train(model, {}, 5, pool);
            kiln::evaluator<net, Loss> evaluator(5, pool);
            train.step(inputs, truth);
            const std::size_t before = allocations.load();
            for (int step = 0; step < 3; ++step)
                train.step(inputs, truth);
            train.compute_gradients(inputs, truth);
            (void)kiln::evaluate<Loss>(model, train.space(), inputs, truth);
            (void)evaluator.evaluate(model, inputs, truth);
            (void)evaluator.mean_loss(model, inputs, truth);
            return allocations.load() - before;
        };
        for (std::size_t threads : {1, 2}) {
            CHECK_MESSAGE(steps_allocate(std::type_identity<kiln::mean_squared_error>{}, targets,
                                         threads) == 0,
                          "mean_squared_error, threads ", threads);
            CHECK_MESSAGE(steps_allocate(std::type_identity<kiln::mean_absolute_error>{}, targets,
                                         threads) == 0,
                          "mean_absolute_error, threads ", threads);
            CHECK_MESSAGE(
                steps_allocate(std::type_identity<kiln::binary_cross_entropy_with_logits>{},
                               labels_per_output, threads) == 0,
                "binary_cross_entropy_with_logits, threads ", threads);
            CHECK_MESSAGE(
                steps_allocate(
                    std::type_identity<kiln::softmax_cross_entropy::with_label_smoothing<0.1>>{},
                    labels, threads) == 0,
                "label smoothing, threads ", threads);
        }
    }
}

#endif // KILN_SANITIZED
