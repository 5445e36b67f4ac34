// A user's program, compiled by check.py with and without SIMD flags.
#include <kiln/kiln.hpp>

int main() {}
