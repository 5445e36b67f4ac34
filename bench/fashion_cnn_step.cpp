// A training step (forward, backward, AdamW update) of examples/fashion_cnn's
// network at the recipe's batch and at batch 8, in training mode (batch_norm on
// the batch's statistics, dropout on). bench/peers/fashion_cnn.py times the same
// step in PyTorch.
#include "../examples/common/fashion_cnn_network.hpp"

#include <kiln/kiln.hpp>

#include <benchmark/benchmark.h>

#include "random_batch.hpp"
#include "step_flops.hpp"

namespace {

using network = kiln::examples::fashion_cnn::network;
using image = kiln::shape<28, 28>;

void training_step(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    const random_batch data(batch, image::size);
    kiln::model<network> net(kiln::init::pytorch_default{}, 42);
    kiln::trainer<network, kiln::softmax_cross_entropy, kiln::adamw> train(
        net,
        kiln::adamw{.learning_rate = kiln::examples::fashion_cnn::learning_rate,
                    .weight_decay = 0.0},
        batch);
    const kiln::batch_view<image, const float> x(data.images.data(), batch);
    const kiln::label_view<10> y(data.labels.data(), batch);
    for (auto _ : state)
        benchmark::DoNotOptimize(train.step(x, y));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
    state.counters["GFLOP/s"] = benchmark::Counter(static_cast<double>(state.iterations() * batch) *
                                                       step_flops<network> / 1e9,
                                                   benchmark::Counter::kIsRate);
}
BENCHMARK(training_step)
    ->Name("fashion_cnn_step")
    ->Arg(8)
    ->Arg(kiln::examples::fashion_cnn::batch)
    ->Unit(benchmark::kMillisecond);

} // namespace

#include "kiln_main.hpp"
