// A training step (forward, backward, SGD update) of the course's 784-128-10 MLP
// at several batch sizes, and inference. The peers in bench/peers/ run the same work.
#include <kiln/data/fashion_mnist.hpp>
#include <kiln/kiln.hpp>

#include <benchmark/benchmark.h>

#include "random_batch.hpp"

#include <numeric>
#include <vector>

namespace {

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;
using wide_mlp =
    kiln::sequential<kiln::input<784>, kiln::linear<1000>, kiln::relu, kiln::linear<10>>;

template <class Net, std::size_t Hidden>
void training_step(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    const random_batch data(batch, 784);
    kiln::model<Net> net(kiln::init::normal{0, 0.1}, 42);
    kiln::trainer<Net> train(net, kiln::sgd{.learning_rate = 0.01}, batch);
    const kiln::batch_view<kiln::shape<784>, const float> x(data.images.data(), batch);
    const kiln::label_view<10> y(data.labels.data(), batch);
    for (auto _ : state)
        benchmark::DoNotOptimize(train.step(x, y));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
    // FLOP of the matrix products, as bench/run.py counts them: forward 2(784h + 10h),
    // weight gradients 2(784h + 10h), hidden-layer gradient 2(10h); the first layer's
    // input gradient is not needed and not computed.
    state.counters["GFLOP/s"] =
        benchmark::Counter(static_cast<double>(state.iterations() * batch) *
                               (4.0 * 784 * Hidden + 6.0 * 10 * Hidden) / 1e9,
                           benchmark::Counter::kIsRate);
}
BENCHMARK(training_step<mlp, 128>)
    ->Name("training_step")
    ->Arg(1)
    ->Arg(5)
    ->Arg(50)
    ->Arg(500)
    ->Arg(5000);
BENCHMARK(training_step<wide_mlp, 1000>)
    ->Name("training_step_wide")
    ->Arg(1)
    ->Arg(5)
    ->Arg(50)
    ->Arg(500)
    ->Arg(5000);

template <class Net>
void inference(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    const random_batch data(batch, 784);
    kiln::model<Net> net(kiln::init::normal{0, 0.1}, 42);
    kiln::workspace<Net, float> space(batch);
    const kiln::batch_view<kiln::shape<784>, const float> x(data.images.data(), batch);
    for (auto _ : state)
        benchmark::DoNotOptimize(kiln::forward(net, space, x).data());
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}
BENCHMARK(inference<mlp>)->Name("inference")->Arg(1)->Arg(5000);
BENCHMARK(inference<wide_mlp>)->Name("inference_wide")->Arg(1)->Arg(5000);

// One epoch of the course's recipe (SEED.md C) at batch 5: 2000 shuffled
// mini-batches of the Fashion-MNIST training split, then the evaluation of the
// training and validation sets that each epoch ends with.
void course_epoch(benchmark::State& state) {
    using image_mlp = kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear<128>,
                                       kiln::relu, kiln::linear<10>>;
    kiln::data::fashion_mnist<float> data;
    try {
        data = kiln::data::load_fashion_mnist<float>();
    } catch (const std::exception& failure) {
        state.SkipWithError(failure.what());
        return;
    }
    constexpr std::size_t batch = 5;
    kiln::rng random(42);
    kiln::model<image_mlp> net(kiln::init::normal{0, 0.1}, random);
    kiln::trainer<image_mlp> train(net, kiln::sgd{.learning_rate = 0.01}, batch);
    kiln::workspace<image_mlp, float> evaluation_space(1000);
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
BENCHMARK(course_epoch)->Unit(benchmark::kMillisecond);

} // namespace

#include "kiln_main.hpp"
