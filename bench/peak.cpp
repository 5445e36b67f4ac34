// The machine's peak float32 FMA throughput: the ceiling kiln's kernels are measured
// against (bench/run.py reports kiln's share of it).
//
// Each probe keeps `chains` independent accumulators in registers and updates each
// one with a fused multiply-add per inner iteration: acc = acc * a + b. An FMA has a
// latency of about 4 cycles and a core issues up to two per cycle, so at least 8
// independent chains are needed to keep both pipes busy; 12 leaves a margin and
// still fits the 16 (AVX2) or 32 (AVX-512) vector registers. Every FMA counts as
// 2 FLOP per lane.
//
// peak_fma_512 / peak_fma_256 (AVX-512 / AVX2 registers): one thread. The same probes with
// threads:2 run one copy per thread at the same time (Google Benchmark starts them together and,
// with UseRealTime, divides the FLOP of both by the wall time), which measures the 2-core peak
// rather than assuming it is twice the 1-core one.
#include <benchmark/benchmark.h>

#include <immintrin.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

// The operations of one vector width, so one probe serves both.
#ifdef __AVX512F__
struct avx512 {
    using reg = __m512;
    static constexpr int lanes = 16;
    static reg broadcast(float x) { return _mm512_set1_ps(x); }
    static reg fma(reg acc, reg a, reg b) { return _mm512_fmadd_ps(acc, a, b); }
    static void store(float* to, reg x) { _mm512_storeu_ps(to, x); }
};
#endif

#if defined(__AVX2__) && defined(__FMA__)
struct avx2 {
    using reg = __m256;
    static constexpr int lanes = 8;
    static reg broadcast(float x) { return _mm256_set1_ps(x); }
    static reg fma(reg acc, reg a, reg b) { return _mm256_fmadd_ps(acc, a, b); }
    static void store(float* to, reg x) { _mm256_storeu_ps(to, x); }
};
#endif

constexpr int chains = 12;  // independent accumulators
constexpr int inner = 4096; // FMA rounds per benchmark iteration
constexpr int block = 64;   // rounds between two compiler barriers

// An empty asm that claims to read and rewrite x in a vector register: the
// compiler must keep x in a register and can make no assumption about its value
// afterwards (benchmark::DoNotOptimize would spill it to memory).
template <class V>
inline void clobber(V& x) {
#ifdef __AVX512F__
    asm volatile("" : "+v"(x));
#else
    asm volatile("" : "+x"(x));
#endif
}

template <class ops>
void peak_fma(benchmark::State& state) {
    using V = typename ops::reg;
    // acc -> acc * a + b converges to b / (1 - a) = 1: no overflow, no denormals.
    V a = ops::broadcast(0.9999999f);
    V b = ops::broadcast(1e-7f);
    V acc[chains];
    for (int c = 0; c < chains; ++c)
        acc[c] = ops::broadcast(static_cast<float>(c) * 0.01f);

    for (auto _ : state) {
        for (int round = 0; round < inner; round += block) {
            for (int r = 0; r < block; ++r)
                for (int c = 0; c < chains; ++c)
                    acc[c] = ops::fma(acc[c], a, b);
            // a and b "may have changed": the chains can be neither folded nor
            // hoisted out of the timing loop.
            clobber(a);
            clobber(b);
        }
    }

    // The results are used, so the chains are not dead code.
    float total = 0;
    for (int c = 0; c < chains; ++c) {
        float lanes[ops::lanes];
        ops::store(lanes, acc[c]);
        for (float x : lanes)
            total += x;
    }
    benchmark::DoNotOptimize(total);

    const double flop_per_iteration = 2.0 * ops::lanes * chains * inner;
    // Summed over threads and divided by the wall time (UseRealTime): the throughput
    // of all threads together.
    state.counters["GFLOP/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * flop_per_iteration / 1e9,
                           benchmark::Counter::kIsRate);
}

// With --benchmark_repetitions, a "max" aggregate besides mean, median and stddev:
// a shared machine only ever slows the probe down, so the peak is the best
// repetition (the max of the GFLOP/s counter; of the time column it is the worst).
double maximum(const std::vector<double>& values) {
    return values.empty() ? 0.0 : *std::max_element(values.begin(), values.end());
}

void configure(benchmark::internal::Benchmark* b) {
    b->UseRealTime()->Threads(1)->Threads(2)->ComputeStatistics("max", maximum);
}

#ifdef __AVX512F__
BENCHMARK_TEMPLATE(peak_fma, avx512)->Name("peak_fma_512")->Apply(configure);
#endif
#if defined(__AVX2__) && defined(__FMA__)
BENCHMARK_TEMPLATE(peak_fma, avx2)->Name("peak_fma_256")->Apply(configure);
#endif

} // namespace

int main(int argc, char** argv) {
#if !defined(__AVX512F__) && !(defined(__AVX2__) && defined(__FMA__))
    std::fprintf(stderr,
                 "peak: built without AVX2+FMA or AVX-512 (configure with -Dsimd=native)\n");
#endif
    benchmark::AddCustomContext("hardware_threads",
                                std::to_string(std::thread::hardware_concurrency()));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
