#pragma once
// Reads a golden file of test/golden/ (format in test/golden/README.md): every
// line `name count v1 ... v_count` becomes values[name]; `#` lines are comments.
// check_close is the comparison every golden test makes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifndef KILN_SOURCE_DIR
#define KILN_SOURCE_DIR "."
#endif

namespace kiln::testing {

inline std::map<std::string, std::vector<double>> read_golden(const std::string& name) {
    const std::string path = std::string(KILN_SOURCE_DIR) + "/test/golden/" + name;
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot open " << path);
    std::map<std::string, std::vector<double>> values;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string key;
        std::size_t count = 0;
        fields >> key >> count;
        auto& entry = values[key];
        entry.resize(count);
        for (double& v : entry)
            fields >> v;
        REQUIRE_MESSAGE(!fields.fail(), path << ": bad line for " << key);
    }
    return values;
}

// Agreement with PyTorch: a relative 1e-9, the differences being rounding order.
inline constexpr double golden_tolerance = 1e-9;

inline void check_close(double kiln_value, double torch_value, const std::string& what) {
    INFO(what, ": kiln ", kiln_value, ", PyTorch ", torch_value);
    CHECK(std::abs(kiln_value - torch_value) <=
          golden_tolerance * std::max(1.0, std::abs(torch_value)));
}

} // namespace kiln::testing
