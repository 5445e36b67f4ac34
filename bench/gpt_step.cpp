// The course's character GPT (SEED.md part F, examples/common/gpt_network.hpp):
// one training step at batch 16, block 32 (forward, sequence cross-entropy,
// backward, AdamW; the batch split across the cores) and one evaluation batch
// (forward and loss, by kiln::evaluator on every core, as the course run's
// estimates are computed), and, for a floor, the step's matrix products alone on
// one core: what the step would cost if attention, layer norm, the loss and AdamW
// were free.
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
    // Drawn below the vocabulary above: not checked again on every call.
    kiln::label_view<kiln::examples::gpt_vocabulary, block> y() const {
        return {next.data(), batch, kiln::labels_checked};
    }
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

// The three products (forward, input gradient, weight gradient) of one affine
// layer over all batch x block rows, with the epilogues the network uses.
template <std::size_t In, std::size_t Out, bool HasBias, class Applied, class Absorbed>
struct layer_products {
    using products = kiln::affine_products<In, Out, HasBias>;
    static constexpr std::size_t rows = batch * block;
    static constexpr double flops = 3.0 * 2.0 * rows * In * Out;
    std::vector<float> params = values(products::bias_offset + Out, 1);
    std::vector<float> gradient = std::vector<float>(params.size());
    std::vector<float> x = values(rows * In, 2), dy = values(rows * Out, 3);
    std::vector<float> y = std::vector<float>(rows * Out), dx = std::vector<float>(rows * In);

    static std::vector<float> values(std::size_t count, std::uint64_t seed) {
        kiln::rng random(seed);
        std::vector<float> v(count);
        for (auto& value : v)
            value = static_cast<float>(random.normal());
        return v;
    }
    void run() {
        products::template forward<float, Applied>(params.data(), x.data(), y.data(), rows, {});
        products::template backward_input<float, Absorbed>(params.data(), x.data(), dy.data(),
                                                           dx.data(), rows, {});
        kiln::store_gradients<float>::slice_sink sink{gradient.data()};
        products::backward_params(gradient.data(), x.data(), dy.data(), rows, sink,
                                  kiln::work_share{});
    }
};

void matrix_products(benchmark::State& state) {
    // Per block: q|k|v, the attention's output projection, the feed-forward pair;
    // then the language-model head.
    using none = kiln::no_activation;
    layer_products<64, 192, false, none, none> qkv;
    layer_products<64, 64, true, none, none> projection;
    layer_products<64, 256, true, kiln::relu, none> expand;
    layer_products<256, 64, true, none, kiln::relu> contract;
    layer_products<64, 65, true, none, none> head;
    constexpr std::size_t blocks = 4;
    for (auto _ : state) {
        for (std::size_t b = 0; b < blocks; ++b) {
            qkv.run();
            projection.run();
            expand.run();
            contract.run();
        }
        head.run();
        benchmark::ClobberMemory();
    }
    const double flops =
        blocks * (qkv.flops + projection.flops + expand.flops + contract.flops) + head.flops;
    state.counters["GFLOP/s"] = benchmark::Counter(
        flops * static_cast<double>(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}
BENCHMARK(matrix_products)->Name("gpt_matrix_products_one_core");

} // namespace

#include "kiln_main.hpp"
