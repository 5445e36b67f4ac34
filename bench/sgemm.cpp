// OpenBLAS's cblas_sgemm on the matrix products of one training step of the MLPs in
// bench/mlp_step.cpp: what a BLAS-backed library spends on the products alone,
// before any bias, activation, loss or update.
//
// For a linear layer with in inputs and out outputs, weights W[in, out] row-major
// (kiln's layout) and a batch of B examples, a training step multiplies
//   forward          Y[B, out]  = X[B, in]  W[in, out]
//   input gradient   dX[B, in]  = dY[B, out] W^T
//   weight gradient  dW[in, out] = X^T dY
// The first layer's input gradient (d loss / d image) is needed by no one and
// neither kiln nor torch computes it, so two sets are timed per network and batch:
//   sgemm_step: the five products a training step needs (the table's column)
//   sgemm_all:  all six (three per layer)
// and sgemm_forward: the two forward products (inference).
//
// Arguments: /<hidden width>/<batch>/<OpenBLAS threads>.
// bench/run.py runs it on the OpenBLAS kernel family bench/openblas_kernel.py chooses
// for this machine (OPENBLAS_CORETYPE); the kernel set OpenBLAS runs is printed in
// the context ("openblas_core").
#include <benchmark/benchmark.h>

#include <cblas.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace {

constexpr int inputs = 784;
constexpr int classes = 10;

// One linear layer's matrices, filled with small values.
struct layer_data {
    int in, out, batch;
    std::vector<float> x, w, y, dy, dx, dw;
    layer_data(int in_, int out_, int batch_)
        : in(in_), out(out_), batch(batch_), x(std::size_t(batch_) * in_, 0.5f),
          w(std::size_t(in_) * out_, 0.01f), y(std::size_t(batch_) * out_),
          dy(std::size_t(batch_) * out_, 0.1f), dx(std::size_t(batch_) * in_),
          dw(std::size_t(in_) * out_) {}

    void forward() {
        // Y[B, out] = X[B, in] W[in, out]
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, out, in, 1.0f, x.data(), in,
                    w.data(), out, 0.0f, y.data(), out);
    }
    void input_gradient() {
        // dX[B, in] = dY[B, out] W^T
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, in, out, 1.0f, dy.data(), out,
                    w.data(), out, 0.0f, dx.data(), in);
    }
    void weight_gradient() {
        // dW[in, out] = X^T[in, B] dY[B, out]
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, batch, 1.0f, x.data(), in,
                    dy.data(), out, 0.0f, dw.data(), out);
    }
};

enum class products { forward, step, all };

template <products Which>
void sgemm(benchmark::State& state) {
    const int hidden = static_cast<int>(state.range(0));
    const int batch = static_cast<int>(state.range(1));
    openblas_set_num_threads(static_cast<int>(state.range(2)));

    layer_data first(inputs, hidden, batch);
    layer_data second(hidden, classes, batch);
    for (auto _ : state) {
        first.forward();
        second.forward();
        if constexpr (Which != products::forward) {
            second.weight_gradient();
            second.input_gradient();
            first.weight_gradient();
            if constexpr (Which == products::all) first.input_gradient();
        }
        benchmark::ClobberMemory();
    }

    // 2 FLOP per multiply-add; each product of a layer is B * in * out of them.
    const double forward = 2.0 * batch * (double(inputs) * hidden + double(hidden) * classes);
    double flop = forward;
    if (Which == products::step)
        flop = forward + 2.0 * batch * (double(inputs) * hidden) +
               4.0 * batch * (double(hidden) * classes);
    if (Which == products::all) flop = 3.0 * forward;
    state.counters["GFLOP/s"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * flop / 1e9, benchmark::Counter::kIsRate);
    state.counters["threads"] = static_cast<double>(state.range(2));
}

// Every hidden width x batch x thread count of the comparison in bench/run.py.
void shapes(benchmark::internal::Benchmark* b, std::initializer_list<std::int64_t> batches) {
    b->ArgNames({"hidden", "batch", "threads"});
    for (std::int64_t hidden : {128, 1000})
        for (std::int64_t batch : batches)
            for (std::int64_t threads : {1, 2})
                b->Args({hidden, batch, threads});
    // The products run on OpenBLAS's own threads: wall time is the measure.
    b->UseRealTime();
}
void training_shapes(benchmark::internal::Benchmark* b) {
    shapes(b, {1, 5, 50, 500, 5000});
}
void inference_shapes(benchmark::internal::Benchmark* b) {
    shapes(b, {1, 5000});
}

BENCHMARK_TEMPLATE(sgemm, products::step)->Name("sgemm_step")->Apply(training_shapes);
BENCHMARK_TEMPLATE(sgemm, products::all)->Name("sgemm_all")->Apply(training_shapes);
BENCHMARK_TEMPLATE(sgemm, products::forward)->Name("sgemm_forward")->Apply(inference_shapes);

} // namespace

int main(int argc, char** argv) {
    benchmark::AddCustomContext("openblas_config", openblas_get_config());
    benchmark::AddCustomContext("openblas_core", openblas_get_corename());
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
