// A training step of examples/char_rnn's character GRU
// (examples/common/char_rnn_network.hpp) at its recipe's batch: forward,
// sequence cross-entropy, backward through time, AdamW with gradient clipping by
// global norm. bench/peers/char_rnn.py runs the same step in PyTorch.
#include "../examples/common/char_rnn_network.hpp"

#include <kiln/kiln.hpp>

#include <benchmark/benchmark.h>

#include <vector>

namespace {

namespace ex = kiln::examples;

template <std::size_t Length, std::size_t Hidden>
void training_step(benchmark::State& state) {
    using net_type = ex::char_rnn<Length, Hidden>;
    const auto batch = static_cast<std::size_t>(state.range(0));
    kiln::model<net_type> net(kiln::init::pytorch_default{}, 1337);
    kiln::trainer<net_type, kiln::sequence_cross_entropy, kiln::adamw> train(
        net, kiln::adamw{.learning_rate = 2e-3}, batch);
    train.set_max_gradient_norm(1.0);
    std::vector<float> ids(batch * Length);
    std::vector<kiln::label_t> next(batch * Length);
    kiln::rng random(1);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        ids[i] = static_cast<float>(random.below(ex::char_rnn_vocabulary));
        next[i] = static_cast<kiln::label_t>(random.below(ex::char_rnn_vocabulary));
    }
    const kiln::batch_view<kiln::shape<Length>, const float> x(ids.data(), batch);
    // Drawn below the vocabulary above: not checked again.
    const kiln::label_view<ex::char_rnn_vocabulary, Length> y(next.data(), batch,
                                                              kiln::labels_checked);
    for (auto _ : state)
        benchmark::DoNotOptimize(train.step(x, y));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}
BENCHMARK(training_step<64, 128>)->Name("char_rnn_step")->Arg(32)->Unit(benchmark::kMillisecond);
BENCHMARK(training_step<64, 256>)->Name("char_rnn256_step")->Arg(32)->Unit(benchmark::kMillisecond);

} // namespace

#include "kiln_main.hpp"
