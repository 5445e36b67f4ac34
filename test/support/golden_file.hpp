#pragma once
// Golden files (test/golden/*.txt): values PyTorch computed in float64, one
// tensor a line as "key count v1 v2 ...", '#' starting a comment; and the
// comparison every golden test makes: a relative 1e-9, the differences being
// rounding order.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifndef KILN_SOURCE_DIR
#define KILN_SOURCE_DIR "."
#endif

namespace kiln_test {

inline constexpr double golden_tolerance = 1e-9;

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
        std::vector<double>& entry = values[key];
        entry.resize(count);
        for (double& v : entry)
            fields >> v;
        REQUIRE_MESSAGE(!fields.fail(), path << ": bad line for " << key);
    }
    return values;
}

inline void check_close(double kiln_value, double torch_value, const std::string& what) {
    INFO(what, ": kiln ", kiln_value, ", PyTorch ", torch_value);
    CHECK(std::abs(kiln_value - torch_value) <=
          golden_tolerance * std::max(1.0, std::abs(torch_value)));
}

} // namespace kiln_test
