// Hostile inputs, replayed: every seed of the fuzz corpus and every input a fuzz
// run ever found a problem with (fuzz/regressions/<target>/) goes through the
// fuzz targets again on each test run, so a fixed bug stays fixed.
#include "../fuzz/targets.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#ifndef KILN_SOURCE_DIR
#define KILN_SOURCE_DIR "."
#endif

namespace {

// Feeds every file under fuzz/<folder>/<target>/ to `run`; returns how many.
template <class Run>
std::size_t replay(const std::string& folder, const std::string& target, Run run) {
    const std::filesystem::path dir =
        std::filesystem::path(KILN_SOURCE_DIR) / "fuzz" / folder / target;
    std::size_t count = 0;
    if (!std::filesystem::exists(dir)) return 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (!entry.is_regular_file() || entry.path().filename().string().starts_with(".")) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        const std::vector<char> bytes{std::istreambuf_iterator<char>(in),
                                      std::istreambuf_iterator<char>()};
        CAPTURE(entry.path());
        run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
        ++count;
    }
    return count;
}

} // namespace

TEST_SUITE("fuzz_replay") {
    TEST_CASE("the IDX reader survives its corpus and every input that once broke it") {
        CHECK(replay("corpus", "idx_reader", kiln::fuzz::idx_reader) >= 5);
        MESSAGE(replay("regressions", "idx_reader", kiln::fuzz::idx_reader),
                " regression input(s) replayed");
    }

    TEST_CASE("the text loader survives its corpus and every input that once broke it") {
        CHECK(replay("corpus", "text_loader", kiln::fuzz::text_loader) >= 3);
        MESSAGE(replay("regressions", "text_loader", kiln::fuzz::text_loader),
                " regression input(s) replayed");
    }
    TEST_CASE("results files stay strict JSON for the corpus and every input that once broke "
              "them") {
        CHECK(replay("corpus", "results_json", kiln::fuzz::results_json) >= 3);
        MESSAGE(replay("regressions", "results_json", kiln::fuzz::results_json),
                " regression input(s) replayed");
    }
    TEST_CASE("the checkpoint loader survives its corpus and every input that once broke it") {
        CHECK(replay("corpus", "checkpoint_loader", kiln::fuzz::checkpoint_loader) >= 4);
        MESSAGE(replay("regressions", "checkpoint_loader", kiln::fuzz::checkpoint_loader),
                " regression input(s) replayed");
    }
}
