// libFuzzer target: fuzz/run.sh builds and runs it (see fuzz/README.md).
// fuzz/run.sh links: examples/common/json_writer.cpp
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    kiln::fuzz::results_json(data, size);
    return 0;
}
