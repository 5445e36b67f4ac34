// libFuzzer target: fuzz/run.sh builds and runs it (see fuzz/README.md).
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    kiln::fuzz::text_loader(data, size);
    return 0;
}
