// A training step of examples/char_rnn's character GRU
// (examples/common/char_rnn_network.hpp) at its recipe's batch of 32 windows of
// 64: forward, sequence cross-entropy, backward through time, AdamW with the
// gradient clipped by global norm. bench/peers/char_rnn.py runs the same step in
// PyTorch; bench/run.py --only char_rnn runs both.
#include "../examples/common/char_rnn_network.hpp"

#include <kiln/kiln.hpp>

#include <benchmark/benchmark.h>

#include "step_flops.hpp"

#include <vector>

namespace {

namespace ex = kiln::examples;
constexpr std::size_t length = 64;
using net_type = ex::char_rnn<length>;

void training_step(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    kiln::model<net_type> net(kiln::init::pytorch_default{}, 1337);
    kiln::trainer<net_type, kiln::sequence_cross_entropy, kiln::adamw> train(
        net, kiln::adamw{.learning_rate = 2e-3}, batch);
    train.set_max_gradient_norm(1.0);
    std::vector<float> ids(batch * length);
    std::vector<kiln::label_t> next(batch * length);
    kiln::rng random(1);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        ids[i] = static_cast<float>(random.below(ex::char_rnn_vocabulary));
        next[i] = static_cast<kiln::label_t>(random.below(ex::char_rnn_vocabulary));
    }
    const kiln::batch_view<kiln::shape<length>, const float> x(ids.data(), batch);
    // Drawn below the vocabulary above: not checked again.
    const kiln::label_view<ex::char_rnn_vocabulary, length> y(next.data(), batch,
                                                              kiln::labels_checked);
    for (auto _ : state)
        benchmark::DoNotOptimize(train.step(x, y));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
    state.counters["GFLOP/s"] = benchmark::Counter(static_cast<double>(state.iterations() * batch) *
                                                       step_flops<net_type> / 1e9,
                                                   benchmark::Counter::kIsRate);
}
BENCHMARK(training_step)->Name("char_rnn_step")->Arg(32)->Unit(benchmark::kMillisecond);

} // namespace

#include "kiln_main.hpp"
