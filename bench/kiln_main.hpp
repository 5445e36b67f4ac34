#pragma once
// The main of kiln's benchmark programs: Google Benchmark's, with the blocking kiln
// derived for this machine (kernels/blocking.hpp) in the report's context, since
// the numbers depend on it (bench/run.py prints it).
#include <kiln/kernels/blocking.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <stdexcept>

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    try {
        benchmark::AddCustomContext("kiln_blocking", kiln::kernels::blocking_in_use().describe());
    } catch (const std::invalid_argument& bad) { // KILN_L2_BYTES that is not a size
        std::fprintf(stderr, "%s\n", bad.what());
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
