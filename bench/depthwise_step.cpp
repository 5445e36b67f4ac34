// depthwise_conv2d's direct loop against the product it would otherwise be: the
// same image through conv2d<C, 3, 1, same> (kernels/conv.hpp's gathered product,
// C times the arithmetic, which is what a depthwise layer costs when it is run as
// a convolution whose weights are zero off the diagonal). Forward passes and
// training steps, 32 x 32 x 32 images at batch 32.
#include <kiln/kiln.hpp>

#include <benchmark/benchmark.h>

#include "random_batch.hpp"

namespace {

using image = kiln::shape<32, 32, 32>;
using depthwise =
    kiln::sequential<kiln::input<32, 32, 32>, kiln::depthwise_conv2d<1, 3, 1, kiln::same>,
                     kiln::global_avg_pool2d, kiln::linear<10>>;
using as_product = kiln::sequential<kiln::input<32, 32, 32>, kiln::conv2d<32, 3, 1, kiln::same>,
                                    kiln::global_avg_pool2d, kiln::linear<10>>;
constexpr std::size_t batch = 32;

template <class Net>
double layer_flops() {
    return static_cast<double>(Net::template layer_t<1>::flops_per_example * batch);
}

template <class Net>
void forward_pass(benchmark::State& state) {
    const random_batch data(batch, image::size);
    kiln::model<Net> net(kiln::init::pytorch_default{}, 42);
    kiln::workspace<Net, float> space(batch);
    const kiln::batch_view<image, const float> x(data.images.data(), batch);
    for (auto _ : state)
        benchmark::DoNotOptimize(kiln::forward(net, space, x).data());
    state.counters["layer GFLOP/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * layer_flops<Net>() / 1e9,
                           benchmark::Counter::kIsRate);
}

template <class Net>
void training_step(benchmark::State& state) {
    const random_batch data(batch, image::size);
    kiln::model<Net> net(kiln::init::pytorch_default{}, 42);
    kiln::trainer<Net> train(net, kiln::sgd{.learning_rate = 0.01}, batch);
    const kiln::batch_view<image, const float> x(data.images.data(), batch);
    const kiln::label_view<10> y(data.labels.data(), batch);
    for (auto _ : state)
        benchmark::DoNotOptimize(train.step(x, y));
}

} // namespace

BENCHMARK(forward_pass<depthwise>)->Name("depthwise_forward/direct_loop");
BENCHMARK(forward_pass<as_product>)->Name("depthwise_forward/as_conv2d_product");
BENCHMARK(training_step<depthwise>)->Name("depthwise_step/direct_loop");
BENCHMARK(training_step<as_product>)->Name("depthwise_step/as_conv2d_product");

BENCHMARK_MAIN();
