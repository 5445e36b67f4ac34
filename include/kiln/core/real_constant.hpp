#pragma once
// kiln::real_constant: a real number as a template argument, so that a layer's
// parameter can be part of its type (kiln::leaky_relu<0.01>, kiln::elu<1.0>).
// C++20 allows a double there, but clang++ 14 (Debian 12's) does not implement it;
// a class that keeps the double's bits is a template argument both compilers take,
// and a double converts to it, so users write the number as it is. Two arguments
// are the same type exactly when their doubles are the same. (A diagnostic shows
// the bits, kiln::real_constant{...}; the layer's name() shows the number.)
#include <bit>
#include <cstdint>

namespace kiln {

struct real_constant {
    std::uint64_t bits;
    constexpr real_constant(double number) noexcept : bits(std::bit_cast<std::uint64_t>(number)) {}
    constexpr double value() const noexcept { return std::bit_cast<double>(bits); }
};

} // namespace kiln
