#pragma once
// KILN_ALWAYS_INLINE after a lambda's parameters forces its call inline:
//     [&](std::size_t r, auto& value) KILN_ALWAYS_INLINE { ... }
// A register tile (or a row's registers) that a lambda takes by reference lives in
// memory if the compiler leaves the lambda out of line, and then every FMA of the
// tile's loop stores to it: g++ 12 did so for the weight gradient's epilogue at
// 5-row tiles, and the course MLP's batch-5 step took 26 us instead of 15.
// (The standard [[gnu::always_inline]] in that place names the lambda's type, not
// its call operator, and is ignored.)
#if defined(__GNUC__) || defined(__clang__)
#define KILN_ALWAYS_INLINE __attribute__((always_inline))
#else
#define KILN_ALWAYS_INLINE
#endif
