// The course's character GPT (SEED.md part F, examples/common/gpt_network.hpp):
// one training step at batch 16, block 32 (forward, sequence cross-entropy,
// backward, AdamW; the batch split across the cores) and one evaluation batch
// (forward and loss, by kiln::evaluator on every core, as the course run's
// estimates are computed).
// bench/peers/gpt_step.py runs the same work in PyTorch; bench/gpt_compare.py
// runs both back to back and prints the ratios.
#include "../examples/common/gpt_network.hpp"

#include <kiln/kiln.hpp>

#include <benchmark/benchmark.h>

#include <vector>

namespace {

constexpr std::size_t batch = 16;
constexpr std::size_t block = 32;
using net_type = kiln::examples::gpt<block, 4>;

struct fixture {
    kiln::model<net_type> net{kiln::init::pytorch_default{}, 1337};
    kiln::trainer<net_type, kiln::sequence_cross_entropy, kiln::adamw> train{net, kiln::adamw{},
                                                                             batch};
    kiln::evaluator<net_type, kiln::sequence_cross_entropy> evaluator{batch};
    std::vector<float> ids = std::vector<float>(batch * block);
    std::vector<kiln::label_t> next = std::vector<kiln::label_t>(batch * block);
    fixture() {
        kiln::rng random(1);
        for (std::size_t i = 0; i < ids.size(); ++i) {
            ids[i] = static_cast<float>(random.below(kiln::examples::gpt_vocabulary));
            next[i] = static_cast<kiln::label_t>(random.below(kiln::examples::gpt_vocabulary));
        }
    }
    kiln::batch_view<kiln::shape<block>, const float> x() const { return {ids.data(), batch}; }
    kiln::label_view<kiln::examples::gpt_vocabulary> y() const { return {next.data(), batch}; }
};

void training_step(benchmark::State& state) {
    fixture f;
    for (auto _ : state)
        benchmark::DoNotOptimize(f.train.step(f.x(), f.y()));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch * block));
}
BENCHMARK(training_step)->Name("gpt_training_step");

void evaluation_batch(benchmark::State& state) {
    fixture f;
    for (auto _ : state)
        benchmark::DoNotOptimize(f.evaluator.mean_loss(f.net, f.x(), f.y()));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch * block));
}
BENCHMARK(evaluation_batch)->Name("gpt_evaluation_batch");

} // namespace

BENCHMARK_MAIN();
