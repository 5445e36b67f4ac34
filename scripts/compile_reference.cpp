// A fixed piece of compiler work that measures how fast this machine compiles,
// independent of kiln: scripts/compile_time.py compiles it with the build's flags
// and scales kiln's compile-time budgets by its time (docs/compile-time.md). It
// parses what kiln parses (the standard library, xsimd) and optimizes templated
// SIMD loops and string code, as kiln's programs do. Do not change it: the
// budgets are stated against its time on the machine where they were set.
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <map>
#include <numeric>
#include <string>
#include <vector>

namespace reference {

template <class T, std::size_t N>
T dot(const T* x, const T* y) {
    using batch = xsimd::batch<T>;
    batch sum(T{0});
    std::size_t i = 0;
    for (; i + batch::size <= N; i += batch::size)
        sum = xsimd::fma(batch::load_unaligned(x + i), batch::load_unaligned(y + i), sum);
    T total = xsimd::hadd(sum);
    for (; i < N; ++i)
        total += x[i] * y[i];
    return total;
}

template <class T, std::size_t Rows, std::size_t Columns, std::size_t Depth>
void product(const T* a, const T* b, T* c) {
    using batch = xsimd::batch<T>;
    for (std::size_t r = 0; r < Rows; ++r)
        for (std::size_t j = 0; j + batch::size <= Columns; j += batch::size) {
            batch acc(T{0});
            for (std::size_t k = 0; k < Depth; ++k)
                acc = xsimd::fma(batch(a[r * Depth + k]), batch::load_unaligned(b + k * Columns + j),
                                 acc);
            acc.store_unaligned(c + r * Columns + j);
        }
}

template <class T, std::size_t... Sizes>
T run_all(std::vector<T>& data) {
    T total = 0;
    ((total += dot<T, Sizes>(data.data(), data.data() + Sizes),
      product<T, 6, 64, Sizes>(data.data(), data.data() + Sizes, data.data() + 4 * Sizes),
      total += data[Sizes]),
     ...);
    return total;
}

std::string describe(const std::map<std::string, double>& values) {
    std::string text;
    for (const auto& [name, value] : values)
        text += name + " = " + std::to_string(value) + "\n";
    return text;
}

} // namespace reference

int main(int argc, char**) {
    std::vector<float> f(1 << 16, 1.0f);
    std::vector<double> d(1 << 16, 1.0);
    std::map<std::string, double> values;
    values["float"] = reference::run_all<float, 3, 17, 64, 100, 128, 333, 784, 1000>(f);
    values["double"] = reference::run_all<double, 3, 17, 64, 100, 128, 333, 784, 1000>(d);
    std::vector<std::string> names;
    for (int i = 0; i < 100 * argc; ++i)
        names.push_back(std::to_string(i * 7919 % 1000));
    std::sort(names.begin(), names.end());
    values["names"] = static_cast<double>(std::unique(names.begin(), names.end()) - names.begin());
    return static_cast<int>(reference::describe(values).size() % 2);
}
