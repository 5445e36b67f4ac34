// Weights from PyTorch: test/fixtures/torch_mlp_12_8_5.kiln holds a 12-8-5 MLP
// that PyTorch initialized, converted by scripts/torch_weights.py (which also
// wrote the inputs and PyTorch's logits beside it; regenerate both with
// `/usr/bin/python3 scripts/torch_weights.py fixture`). kiln loads it and
// computes PyTorch's logits; saved again, it is the same file byte for byte.
#include "support/temp_dir.hpp"

#include <kiln/kiln.hpp>
#include <kiln/train/checkpoint.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifndef KILN_SOURCE_DIR
#define KILN_SOURCE_DIR "."
#endif

namespace {

using small_mlp = kiln::sequential<kiln::input<12>, kiln::linear<8>, kiln::relu, kiln::linear<5>>;
constexpr std::size_t batch = 3;
const std::string fixtures = std::string(KILN_SOURCE_DIR) + "/test/fixtures/";

// "name count values..." lines; values in C99 hex (exact).
std::map<std::string, std::vector<double>> read_values(const std::string& path) {
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot open ", path);
    std::map<std::string, std::vector<double>> values;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string name, value;
        std::size_t count = 0;
        fields >> name >> count;
        while (fields >> value)
            values[name].push_back(std::strtod(value.c_str(), nullptr));
        REQUIRE_MESSAGE(values[name].size() == count, path, ": ", name);
    }
    return values;
}

std::string read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <class T>
std::vector<double> logits(const kiln::model<small_mlp, T>& net, const std::vector<double>& x) {
    std::vector<T> input(x.begin(), x.end());
    kiln::workspace<small_mlp, T> space(batch);
    const auto out =
        kiln::forward(net, space, kiln::batch_view<kiln::shape<12>, const T>(input.data(), batch));
    return {out.data(), out.data() + out.size()};
}

} // namespace

TEST_SUITE("torch_weights") {
    TEST_CASE("a PyTorch MLP converted by scripts/torch_weights.py computes PyTorch's logits") {
        const auto values = read_values(fixtures + "torch_mlp_12_8_5.txt");
        const auto& x = values.at("x");
        REQUIRE(x.size() == batch * 12);

        kiln::model<small_mlp> net;
        kiln::load_model(fixtures + "torch_mlp_12_8_5.kiln", net);

        // float: the sums run in another order than PyTorch's; 8 and 12 terms of size ~1.
        const auto got = logits(net, x);
        const auto& want = values.at("logits32");
        REQUIRE(got.size() == want.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
            CAPTURE(i);
            CHECK(std::abs(got[i] - want[i]) <= 1e-6);
        }
        // double, from the same float32 weights: agreement to rounding.
        const auto wide = logits(kiln::model<small_mlp, double>(net), x);
        const auto& want64 = values.at("logits64");
        for (std::size_t i = 0; i < wide.size(); ++i) {
            CAPTURE(i);
            CHECK(std::abs(wide[i] - want64[i]) <= 1e-15);
        }
    }

    TEST_CASE("the model saved by kiln is the script's file, byte for byte") {
        kiln::model<small_mlp> net;
        kiln::load_model(fixtures + "torch_mlp_12_8_5.kiln", net);
        kiln::testing::temp_dir dir;
        kiln::save_model(dir / "again.kiln", net);
        CHECK(read_bytes(dir / "again.kiln") == read_bytes(fixtures + "torch_mlp_12_8_5.kiln"));
    }
}
