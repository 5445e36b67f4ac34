#pragma once
// How kiln's products are blocked, derived from the machine rather than tuned on
// one (the model, after Low et al., "Analytical modeling is enough for
// high-performance BLIS", 2016, is in docs/performance.md):
//
// - The register tile, from the vector ISA at compile time: tile_rows rows of
//   tile_registers registers of accumulators, plus one register of B per column
//   register and one broadcast of A, must fit the register file.
// - The cache blocking, from the caches of the machine that runs the program
//   (kernels/caches.hpp), once: half of L2 holds what a product reuses (all of B,
//   or one panel of B with a chunk of A's rows), a quarter of L2 a chunk of a
//   weight gradient's dy, half of L1 a tile's rows of A over that chunk.
#include "kiln/kernels/caches.hpp"

#include <cstddef>
#include <string>

namespace kiln::kernels {

// The vector registers of the target: 32 with AVX-512 and on AArch64, else 16.
inline constexpr std::size_t vector_registers =
#if defined(__AVX512F__) || defined(__aarch64__)
    32;
#else
    16;
#endif

// 6 rows, whose cover by 6- and 5-row tiles for_row_tiles relies on; registers
// across as many as fit with the B registers and the broadcast: 4 of 32, 2 of 16.
inline constexpr std::size_t tile_rows = 6;
constexpr std::size_t tile_registers_for(std::size_t registers) noexcept {
    return (registers - 1) / (tile_rows + 1);
}
inline constexpr std::size_t tile_registers = tile_registers_for(vector_registers);
static_assert(tile_registers >= 1);

struct blocking {
    cache_sizes caches;
    // Up to this many bytes of B, every row tile reads all of B, which stays in L2.
    std::size_t whole_b_bytes;
    // A weight gradient's share of L2 for one chunk of dy's rows, and of L1 for a
    // tile's rows of A over that chunk.
    std::size_t gradient_l2_bytes;
    std::size_t gradient_l1_bytes;

    // Up to this many bytes, a column block's panel of B is copied to the packing
    // area of the part that runs it, so that the tiles read it as one run rather
    // than rows of B apart (a new page each row of 784-1000's W, which neither the
    // prefetchers nor the TLB followed).
    static constexpr std::size_t max_packed_panel_bytes = 256 << 10;
    // A part's packing area (core/packing_area.hpp): one panel of B, and up to
    // L2's size of A's rows copied tile by tile.
    constexpr std::size_t packing_bytes() const noexcept {
        return max_packed_panel_bytes + caches.l2_bytes;
    }

    // Rows of A (each row_bytes long) that share one panel of B (panel_bytes)
    // while the panel stays in L2: a multiple of tile_rows, at least one tile.
    constexpr std::size_t rows_per_panel(std::size_t row_bytes,
                                         std::size_t panel_bytes) const noexcept {
        const std::size_t room = whole_b_bytes > panel_bytes ? whole_b_bytes - panel_bytes : 0;
        const std::size_t rows = room / (row_bytes ? row_bytes : 1) / tile_rows * tile_rows;
        return rows > tile_rows ? rows : tile_rows;
    }
    // Rows of a weight gradient's dy per chunk, when a row of dy's panel takes
    // panel_row_bytes and a tile's rows of A take tile_row_bytes per row of dy:
    // a multiple of 16, at least 16.
    constexpr std::size_t gradient_rows(std::size_t panel_row_bytes,
                                        std::size_t tile_row_bytes) const noexcept {
        const std::size_t by_l2 = gradient_l2_bytes / (panel_row_bytes ? panel_row_bytes : 1);
        const std::size_t by_l1 = gradient_l1_bytes / (tile_row_bytes ? tile_row_bytes : 1);
        const std::size_t rows = (by_l2 < by_l1 ? by_l2 : by_l1) / 16 * 16;
        return rows > 16 ? rows : 16;
    }

    [[gnu::cold]] std::string describe() const {
        auto kib = [](std::size_t bytes) { return std::to_string(bytes >> 10) + " KiB"; };
        return "L1d " + kib(caches.l1d_bytes) + ", L2 " + kib(caches.l2_bytes) + " (" +
               caches.source + "); tile " + std::to_string(tile_rows) + " x " +
               std::to_string(tile_registers) + " registers of " +
               std::to_string(vector_registers) + "; whole B up to " + kib(whole_b_bytes) +
               ", gradient chunks in " + kib(gradient_l2_bytes) + " of L2 and " +
               kib(gradient_l1_bytes) + " of L1";
    }
};

constexpr blocking blocking_for(const cache_sizes& caches) noexcept {
    return {caches, caches.l2_bytes / 2, caches.l2_bytes / 4, caches.l1d_bytes / 2};
}

namespace detail {
inline blocking& plan() {
    static blocking derived = blocking_for(detect_caches());
    return derived;
}
} // namespace detail

// This machine's blocking, derived on first use (a workspace asks for it when it
// is made, so that a bad KILN_L2_BYTES is reported there, not inside a kernel).
inline const blocking& blocking_in_use() {
    return detail::plan();
}

// Replaces it, for tests and experiments that try other caches: no product may
// run meanwhile.
inline void use_blocking(const blocking& other) {
    detail::plan() = other;
}

} // namespace kiln::kernels
