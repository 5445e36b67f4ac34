// A training step (forward, backward, SGD update) of the course's CNN2 and CNN3
// (SEED.md part E) at batch 5 and 32, and one epoch of the course's recipe at
// batch 5. bench/peers/cnn_step.py runs the same work in PyTorch.
#include <kiln/data/fashion_mnist.hpp>
#include <kiln/kiln.hpp>

#include <benchmark/benchmark.h>

#include "random_batch.hpp"
#include "step_flops.hpp"

#include <numeric>
#include <vector>

namespace {

using cnn2 = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;
using cnn3 = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::conv2d<128, 2>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;
static_assert(cnn2::param_count == 80'650);
static_assert(cnn3::param_count == 68'106);
using image = kiln::shape<28, 28>;

template <class Net>
void training_step(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    const random_batch data(batch, image::size);
    kiln::model<Net> net(kiln::init::pytorch_default{}, 42);
    kiln::trainer<Net> train(net, kiln::sgd{.learning_rate = 0.01}, batch);
    const kiln::batch_view<image, const float> x(data.images.data(), batch);
    const kiln::label_view<10> y(data.labels.data(), batch);
    for (auto _ : state)
        benchmark::DoNotOptimize(train.step(x, y));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
    state.counters["GFLOP/s"] =
        benchmark::Counter(static_cast<double>(state.iterations() * batch) * step_flops<Net> / 1e9,
                           benchmark::Counter::kIsRate);
}
BENCHMARK(training_step<cnn2>)->Name("cnn2_step")->Arg(5)->Arg(32);
BENCHMARK(training_step<cnn3>)->Name("cnn3_step")->Arg(5)->Arg(32);

// One epoch of the course's recipe at batch 5: 2000 shuffled mini-batches of the
// Fashion-MNIST training split, then the evaluation of the training and
// validation sets that each epoch ends with.
template <class Net>
void course_epoch(benchmark::State& state) {
    kiln::data::fashion_mnist<float> data;
    try {
        data = kiln::data::load_fashion_mnist<float>();
    } catch (const std::exception& failure) {
        state.SkipWithError(failure.what());
        return;
    }
    constexpr std::size_t batch = 5;
    kiln::rng random(42);
    kiln::model<Net> net(kiln::init::pytorch_default{}, random);
    kiln::trainer<Net> train(net, kiln::sgd{.learning_rate = 0.01}, batch);
    kiln::workspace<Net, float> evaluation_space(250);
    kiln::shuffled_batches batches(data.train, batch);
    for (auto _ : state) {
        batches.epoch(random,
                      [&](std::size_t, auto inputs, auto labels) { train.step(inputs, labels); });
        benchmark::DoNotOptimize(
            kiln::evaluate(net, evaluation_space, data.train.inputs(), data.train.labels())
                .accuracy);
        benchmark::DoNotOptimize(kiln::evaluate(net, evaluation_space, data.validation.inputs(),
                                                data.validation.labels())
                                     .accuracy);
    }
}
BENCHMARK(course_epoch<cnn2>)->Name("cnn2_epoch")->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(course_epoch<cnn3>)->Name("cnn3_epoch")->Unit(benchmark::kMillisecond)->Iterations(1);

} // namespace

#include "kiln_main.hpp"
