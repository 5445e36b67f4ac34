#pragma once
// Register-blocked matrix products, specialised on the compile-time widths.
//
// matmul:     C(m, :) = sum_k A(m, k) B(k, :)   B row-major, N columns (the layer width)
// matmul_nt:  C(m, n) = sum_k A(m, k) B(n, k)   both operands row-major along k
//
// A tile of Rows x (Vecs registers + an optional partial register of Tail lanes)
// accumulates in registers over the whole depth; each B load serves Rows rows and
// each broadcast of A serves every register of the row. What happens to a
// finished tile (add a bias, apply relu, store, fold an SGD update into it) is the
// caller's epilogue, so one kernel serves all three products of a linear layer.
#include "kiln/core/always_inline.hpp"
#include "kiln/core/packing_area.hpp"
#include "kiln/core/static_for.hpp"
#include "kiln/kernels/blocking.hpp"
#include "kiln/kernels/simd.hpp"

#include <algorithm>
#include <cstddef>
#include <utility>

namespace kiln::kernels {

template <class T, std::size_t Rows, std::size_t Vecs, std::size_t Tail>
struct tile {
    static constexpr std::size_t rows = Rows;
    static constexpr std::size_t registers = Vecs + (Tail != 0 ? 1 : 0);
    simd::vec<T> acc[Rows][registers];

    // f(row, column offset within the tile, register, lanes as a std::integral_constant)
    // for every register: loops that the compiler unrolls completely, so that the
    // accumulators stay in registers. Written as loops, a tile's body holds f once for
    // whole registers and once for a partial one until the unrolling; a fold over every
    // register held Rows x registers copies, optimized anew at each level of inlining
    // (docs/compile-time.md).
    template <class F>
    [[gnu::always_inline]] inline void for_each(F&& f) {
        constexpr std::size_t W = simd::width<T>;
#pragma GCC unroll 16
        for (std::size_t r = 0; r < Rows; ++r) {
#pragma GCC unroll 16
            for (std::size_t v = 0; v < Vecs; ++v)
                f(r, v * W, acc[r][v], std::integral_constant<std::size_t, W>{});
            if constexpr (Tail != 0)
                f(r, Vecs * W, acc[r][Vecs], std::integral_constant<std::size_t, Tail>{});
        }
    }
};

// Loads and stores of Lanes scalars: a whole register or a masked part of one.
template <std::size_t Lanes, class T>
inline simd::vec<T> load_lanes(const T* p) noexcept {
    if constexpr (Lanes == simd::width<T>)
        return simd::load(p);
    else
        return simd::load_partial(p, Lanes);
}
template <std::size_t Lanes, class T>
inline void store_lanes(T* p, const simd::vec<T>& v) noexcept {
    if constexpr (Lanes == simd::width<T>)
        simd::store(p, v);
    else
        simd::store_partial(p, v, Lanes);
}

namespace detail {

// One tile: rows [0, Rows) of a (already offset to the tile's first row; A(r, k)
// at a[r * RowStride + k * depth_stride]), columns [0, Vecs * width + Tail) of b
// (already offset to the tile's first column; rows b_stride apart). The loops over
// rows and registers are unrolled by force: left to the compiler's size limits, g++
// kept them as loops when a tile was inlined into a large caller, and the
// accumulators went to memory. The strides along the depth are values, not
// template arguments: a step along the depth is one pointer increment either way,
// and a product's packed panels (B's rows one block apart, A's rows packed) then
// run the same compiled tiles as its unpacked rows.
template <class T, std::size_t RowStride, std::size_t Rows, std::size_t Vecs, std::size_t Tail,
          class Epilogue>
inline void run_tile(const T* a, std::size_t depth_stride, const T* b, std::size_t b_stride,
                     std::size_t depth, std::size_t row, std::size_t column, Epilogue& epilogue) {
    using vec = simd::vec<T>;
    constexpr std::size_t W = simd::width<T>;
    tile<T, Rows, Vecs, Tail> t;
#pragma GCC unroll 16
    for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 16
        for (std::size_t v = 0; v < t.registers; ++v)
            t.acc[r][v] = vec(T{0});
    for (std::size_t k = 0; k < depth; ++k) {
        const T* const b_row = b + k * b_stride;
        vec b_regs[t.registers];
#pragma GCC unroll 16
        for (std::size_t v = 0; v < Vecs; ++v)
            b_regs[v] = simd::load(b_row + v * W);
        if constexpr (Tail != 0) b_regs[Vecs] = simd::load_partial(b_row + Vecs * W, Tail);
#pragma GCC unroll 16
        for (std::size_t r = 0; r < Rows; ++r) {
            const vec a_value(a[r * RowStride + k * depth_stride]);
#pragma GCC unroll 16
            for (std::size_t v = 0; v < t.registers; ++v)
                t.acc[r][v] = simd::fma(a_value, b_regs[v], t.acc[r][v]);
        }
    }
    epilogue(row, column, t);
}

} // namespace detail

// The column blocks of an N-wide product: tile_registers registers each, the last
// one holding what is left (fewer registers and a partial one).
template <class T, std::size_t N>
inline constexpr std::size_t column_blocks = N / simd::width<T> / tile_registers +
                                             ((N / simd::width<T>) % tile_registers != 0 ||
                                              N % simd::width<T> != 0);

// Calls run.template operator()<Vecs, Tail>(first column) for the column blocks
// [block_begin, block_end) of an N-wide product: Vecs whole registers and a
// partial one of Tail lanes.
template <class T, std::size_t N, class Run>
[[gnu::always_inline]] inline void for_column_blocks(std::size_t block_begin, std::size_t block_end,
                                                     Run&& run) {
    constexpr std::size_t W = simd::width<T>;
    constexpr std::size_t full_blocks = N / W / tile_registers;
    constexpr std::size_t rest_registers = N / W % tile_registers;
    constexpr std::size_t tail = N % W;
    constexpr std::size_t block_columns = tile_registers * W;
    const std::size_t full_end = block_end < full_blocks ? block_end : full_blocks;
    for (std::size_t block = block_begin; block < full_end; ++block)
        run.template operator()<tile_registers, 0>(block * block_columns);
    if constexpr (rest_registers != 0 || tail != 0)
        if (block_end > full_blocks)
            run.template operator()<rest_registers, tail>(full_blocks * block_columns);
}

// Calls run.template operator()<Rows>(first row) for tiles that cover rows
// [row_begin, row_end) once. Tiles are 6 and 5 rows high: 6a + 5b covers every
// count from 20 up exactly, and 5 and 6 themselves; what other counts leave over
// (1 to 4 rows) runs row by row, which costs a one-row tile no more arithmetic
// than the rows need and about as much time as a 5-row tile. Each tile height
// compiles once per product and epilogue: one height for every remainder, 1 to
// 6, made up a third of a transformer step's compile time.
template <class Run>
[[gnu::always_inline]] inline void for_row_tiles(std::size_t row_begin, std::size_t row_end,
                                                 Run&& run) {
    constexpr std::size_t short_rows = tile_rows - 1;
    const std::size_t count = row_end - row_begin;
    // 5 = -1 (mod 6): this many 5-row tiles leave a multiple of 6.
    std::size_t short_tiles = (tile_rows - count % tile_rows) % tile_rows;
    if (short_tiles * short_rows > count) short_tiles = 0;
    const std::size_t full_end =
        row_begin + (count - short_tiles * short_rows) / tile_rows * tile_rows;
    std::size_t row = row_begin;
    for (; row < full_end; row += tile_rows)
        run.template operator()<tile_rows>(row);
    for (std::size_t tile = 0; tile < short_tiles; ++tile, row += short_rows)
        run.template operator()<short_rows>(row);
    // At most 4 rows are left (counts 1-4, 7-9, 13 and 19 leave some). Counted from
    // 0 to that bound, not up to row_end, the loop no longer makes g++ warn that the
    // addresses of row 2^56 and beyond would overflow once the tiles are inlined
    // into it (-Waggressive-loop-optimizations).
    constexpr std::size_t most_left = short_rows - 1;
    const std::size_t left = row_end - row;
    for (std::size_t i = 0; i < left && i < most_left; ++i)
        run.template operator()<1>(row + i);
}

// The same cover of rows [0, Count) when the count is known at compile time: only
// the tile heights that Count needs are compiled (6 and 5 rows for 32, one row for 2).
template <std::size_t Count, class Run>
[[gnu::always_inline]] inline void for_row_tiles(Run&& run) {
    constexpr std::size_t short_rows = tile_rows - 1;
    constexpr std::size_t short_tiles = [] {
        const std::size_t tiles = (tile_rows - Count % tile_rows) % tile_rows;
        return tiles * short_rows > Count ? 0 : tiles;
    }();
    constexpr std::size_t full_tiles = (Count - short_tiles * short_rows) / tile_rows;
    constexpr std::size_t left = Count - full_tiles * tile_rows - short_tiles * short_rows;
    std::size_t row = 0;
    if constexpr (full_tiles != 0)
        for (std::size_t tile = 0; tile < full_tiles; ++tile, row += tile_rows)
            run.template operator()<tile_rows>(row);
    if constexpr (short_tiles != 0)
        for (std::size_t tile = 0; tile < short_tiles; ++tile, row += short_rows)
            run.template operator()<short_rows>(row);
    if constexpr (left != 0)
        for (std::size_t i = 0; i < left; ++i)
            run.template operator()<1>(row + i);
}

// Which entries of A a product may skip because they are zero: none, those above
// the diagonal (A(m, k) = 0 for k > m: a tile of rows [r, r + Rows) sums over
// k < r + Rows), or those below it (A(m, k) = 0 for k < m: it sums over k >= r).
// Causal attention's probabilities and their gradient are such matrices.
enum class zeros { none, above_diagonal, below_diagonal };

namespace detail {

// The tiles of rows [row, row + Rows) in column blocks [block_begin, block_end):
// what matmul and small_matmul run for each of their row tiles.
template <class T, std::size_t N, std::size_t RowStride, std::size_t DepthStride,
          std::size_t BStride, zeros Skips, std::size_t Rows, class Epilogue>
[[gnu::always_inline]] inline void row_of_tiles(const T* a, const T* b, std::size_t row,
                                                std::size_t depth, std::size_t block_begin,
                                                std::size_t block_end, Epilogue& epilogue) {
    std::size_t first = 0, last = depth;
    if constexpr (Skips == zeros::above_diagonal) last = row + Rows < depth ? row + Rows : depth;
    if constexpr (Skips == zeros::below_diagonal) first = row < depth ? row : depth;
    for_column_blocks<T, N>(
        block_begin, block_end,
        [&]<std::size_t Vecs, std::size_t Tail>(std::size_t column) KILN_ALWAYS_INLINE {
            run_tile<T, RowStride, Rows, Vecs, Tail>(a + row * RowStride + first * DepthStride,
                                                     DepthStride, b + first * BStride + column,
                                                     BStride, last - first, row, column, epilogue);
        });
}

} // namespace detail

// From this many rows a panel of B is copied (blocking::max_packed_panel_bytes):
// the copy reads and writes the panel once, the row tiles read it once per tile
// (at 50 rows, 784-1000's forward was slower copied).
inline constexpr std::size_t min_packed_rows = 16 * tile_rows;

namespace detail {

// Copies rows [0, Rows) of a to `packed`, depth by depth: a tile then reads its
// broadcasts of A as one run. Worth it when A's rows are not runs along the depth
// (a weight gradient's x^T: each depth step of a tile would read a line of its own).
template <class T, std::size_t RowStride, std::size_t DepthStride, std::size_t Rows>
void pack_rows(const T* a, std::size_t depth, T* packed) noexcept {
    for (std::size_t k = 0; k < depth; ++k)
#pragma GCC unroll 8
        for (std::size_t r = 0; r < Rows; ++r)
            packed[k * Rows + r] = a[r * RowStride + k * DepthStride];
}

} // namespace detail

// matmul's rows and column blocks over a B too large for L2 whose panels fit
// blocking::max_packed_panel_bytes: each block's panel is copied once and serves every row.
// An A whose rows are not runs along the depth is packed too, in chunks of rows
// that fit the area beside the panel, each serving every block.
template <class T, std::size_t N, std::size_t RowStride, std::size_t DepthStride,
          std::size_t BStride, class Epilogue>
void packed_panels(const T* a, const T* b, std::size_t row_begin, std::size_t row_end,
                   std::size_t depth, Epilogue& epilogue, std::size_t block_begin,
                   std::size_t block_end, packing_area packing) {
    constexpr std::size_t block_columns = tile_registers * simd::width<T>;
    constexpr bool pack_a = DepthStride != 1;
    T* const panel = packing.values<T>();
    T* const packed_a = panel + depth * block_columns;
    std::size_t chunk_rows = row_end - row_begin;
    if constexpr (pack_a)
        chunk_rows = (packing.count<T>() - depth * block_columns) / depth / tile_rows * tile_rows;
    for (std::size_t chunk = row_begin; chunk < row_end; chunk += chunk_rows) {
        const std::size_t chunk_end = row_end - chunk < chunk_rows ? row_end : chunk + chunk_rows;
        if constexpr (pack_a)
            for_row_tiles(chunk, chunk_end, [&]<std::size_t Rows>(std::size_t row) {
                detail::pack_rows<T, RowStride, DepthStride, Rows>(
                    a + row * RowStride, depth, packed_a + (row - chunk) * depth);
            });
        for (std::size_t block = block_begin; block < block_end; ++block) {
            const std::size_t column = block * block_columns;
            const std::size_t width = N - column < block_columns ? N - column : block_columns;
            for (std::size_t k = 0; k < depth; ++k)
                std::copy_n(b + k * BStride + column, width, panel + k * block_columns);
            for_row_tiles(
                chunk, chunk_end, [&]<std::size_t Rows>(std::size_t row) KILN_ALWAYS_INLINE {
                    for_column_blocks<T, N>(
                        block, block + 1,
                        [&]<std::size_t Vecs, std::size_t Tail>(std::size_t first_column)
                            KILN_ALWAYS_INLINE {
                                if constexpr (pack_a)
                                    detail::run_tile<T, 1, Rows, Vecs, Tail>(
                                        packed_a + (row - chunk) * depth, Rows, panel,
                                        block_columns, depth, row, first_column, epilogue);
                                else
                                    detail::run_tile<T, RowStride, Rows, Vecs, Tail>(
                                        a + row * RowStride, DepthStride, panel, block_columns,
                                        depth, row, first_column, epilogue);
                            });
                });
        }
    }
}

// Rows [row_begin, row_end) and column blocks [block_begin, block_end) of C = A B,
// with A(m, k) = a[m * RowStride + k * DepthStride] and B(k, n) = b[k * BStride + n]
// (B's rows are N wide, and N apart unless said otherwise). For each finished tile
// calls epilogue(first row, first column, tile).
template <class T, std::size_t N, std::size_t RowStride, std::size_t DepthStride,
          std::size_t BStride = N, zeros Skips = zeros::none, class Epilogue>
void matmul(const T* a, const T* b, std::size_t row_begin, std::size_t row_end, std::size_t depth,
            Epilogue&& epilogue, std::size_t block_begin = 0,
            std::size_t block_end = column_blocks<T, N>, packing_area packing = {}) {
    auto tiles = [&](std::size_t rows_begin, std::size_t rows_end, std::size_t blocks_begin,
                     std::size_t blocks_end) {
        for_row_tiles(rows_begin, rows_end,
                      [&]<std::size_t Rows>(std::size_t row) KILN_ALWAYS_INLINE {
                          detail::row_of_tiles<T, N, RowStride, DepthStride, BStride, Skips, Rows>(
                              a, b, row, depth, blocks_begin, blocks_end, epilogue);
                      });
    };
    // A B that fits the blocking's share of L2 is read whole by every row tile. A
    // larger one (784-1000's W is 3.1 MB) would stream from L3 once per row tile, so
    // then one column block's panel of B serves a chunk of row tiles before the next
    // block's panel is read: the chunk's rows of A and the panel share L2.
    const blocking& plan = blocking_in_use();
    if (depth * BStride * sizeof(T) <= plan.whole_b_bytes) {
        tiles(row_begin, row_end, block_begin, block_end);
        return;
    }
    constexpr std::size_t block_bytes = tile_registers * simd::width<T> * sizeof(T);
    if constexpr (Skips == zeros::none) {
        // The panel, and for an A packed too, at least one tile's rows of it.
        const std::size_t needed =
            depth * (block_bytes + (DepthStride != 1 ? tile_rows * sizeof(T) : 0));
        if (depth * block_bytes <= blocking::max_packed_panel_bytes && packing.bytes >= needed &&
            row_end - row_begin >= min_packed_rows) {
            packed_panels<T, N, RowStride, DepthStride, BStride>(
                a, b, row_begin, row_end, depth, epilogue, block_begin, block_end, packing);
            return;
        }
    }
    const std::size_t chunk_rows = plan.rows_per_panel(depth * sizeof(T), depth * block_bytes);
    for (std::size_t chunk = row_begin; chunk < row_end; chunk += chunk_rows) {
        const std::size_t chunk_end = row_end - chunk < chunk_rows ? row_end : chunk + chunk_rows;
        for (std::size_t block = block_begin; block < block_end; ++block)
            tiles(chunk, chunk_end, block, block + 1);
    }
}

// All Rows rows and every column block of C = A B, for a product whose row count is
// known at compile time (attention's, per head): matmul's tiles, but only the tile
// heights that Rows needs are compiled.
template <class T, std::size_t Rows, std::size_t N, std::size_t RowStride, std::size_t DepthStride,
          std::size_t BStride = N, zeros Skips = zeros::none, class Epilogue>
void small_matmul(const T* a, const T* b, std::size_t depth, Epilogue&& epilogue) {
    for_row_tiles<Rows>([&]<std::size_t TileRows>(std::size_t row) KILN_ALWAYS_INLINE {
        detail::row_of_tiles<T, N, RowStride, DepthStride, BStride, Skips, TileRows>(
            a, b, row, depth, 0, column_blocks<T, N>, epilogue);
    });
}

// An epilogue that stores each finished tile times `scale` into C, whose rows are
// `stride` apart. The stride is a value, so that products that differ only in where
// they store (attention's dq and its output) share their tiles' code.
template <class T>
inline auto store_scaled(T* c, std::size_t stride, T scale) noexcept {
    return [=](std::size_t row, std::size_t column, auto& tile) KILN_ALWAYS_INLINE {
        const simd::vec<T> factor(scale);
        tile.for_each(
            [&](std::size_t r, std::size_t offset, auto& value, auto lanes) KILN_ALWAYS_INLINE {
                store_lanes<decltype(lanes)::value>(c + (row + r) * stride + column + offset,
                                                    value * factor);
            });
    };
}

// hand(column, register, lanes) with the sum of rows [0, rows) of an N-wide
// row-major matrix, register by register: a bias gradient. Up to 8 registers of
// columns are summed in one sweep down the rows, so that a matrix no wider than
// that is read once, as it lies; each column is summed from the first row to the last.
template <class T, std::size_t N, class Hand>
void sum_rows(const T* m, std::size_t rows, Hand&& hand) {
    constexpr std::size_t W = simd::width<T>;
    constexpr std::size_t full = N / W; // whole registers a row
    constexpr std::size_t per_sweep = 8;
    static_for<(full + per_sweep - 1) / per_sweep>([&](auto sweep) {
        constexpr std::size_t first = decltype(sweep)::value * per_sweep;
        constexpr std::size_t count = std::min(per_sweep, full - first);
        simd::vec<T> totals[count];
        for (std::size_t i = 0; i < count; ++i)
            totals[i] = simd::load(m + (first + i) * W);
        for (std::size_t r = 1; r < rows; ++r)
            for (std::size_t i = 0; i < count; ++i)
                totals[i] += simd::load(m + r * N + (first + i) * W);
        for (std::size_t i = 0; i < count; ++i)
            hand((first + i) * W, totals[i], std::integral_constant<std::size_t, W>{});
    });
    if constexpr (N % W != 0) {
        constexpr std::size_t column = full * W;
        auto total = simd::load_partial(m + column, N % W);
        for (std::size_t r = 1; r < rows; ++r)
            total += simd::load_partial(m + r * N + column, N % W);
        hand(column, total, std::integral_constant<std::size_t, N % W>{});
    }
}

// Rows [row_begin, row_end) of C(m, n) = sum_k A(m, k) B(n, k), A with K = Depth
// columns, B with Columns rows of Depth. Calls store(m, n, value) for every entry.
// Blocks of 4 x (width / 4) outputs accumulate in registers and are summed
// across lanes together; the edges take dot products.
template <class T, std::size_t Depth, std::size_t Columns, class Store>
void matmul_nt(const T* a, const T* b, std::size_t row_begin, std::size_t row_end, Store&& store) {
    using vec = simd::vec<T>;
    constexpr std::size_t W = simd::width<T>;
    constexpr std::size_t block_cols = 4;
    constexpr std::size_t block_rows = W / block_cols >= 1 ? W / block_cols : 1;
    constexpr bool blocked = block_rows * block_cols == W;
    std::size_t row = row_begin;
    if constexpr (blocked) {
        for (; row + block_rows <= row_end; row += block_rows) {
            std::size_t col = 0;
            for (; col + block_cols <= Columns; col += block_cols) {
                vec acc[W];
                for (auto& x : acc)
                    x = vec(T{0});
                std::size_t k = 0;
                for (; k + W <= Depth; k += W) {
                    vec b_regs[block_cols];
                    for (std::size_t c = 0; c < block_cols; ++c)
                        b_regs[c] = simd::load(b + (col + c) * Depth + k);
                    for (std::size_t r = 0; r < block_rows; ++r) {
                        const vec a_reg = simd::load(a + (row + r) * Depth + k);
                        for (std::size_t c = 0; c < block_cols; ++c)
                            acc[r * block_cols + c] =
                                simd::fma(a_reg, b_regs[c], acc[r * block_cols + c]);
                    }
                }
                if constexpr (Depth % W != 0) {
                    vec b_regs[block_cols];
                    for (std::size_t c = 0; c < block_cols; ++c)
                        b_regs[c] = simd::load_partial(b + (col + c) * Depth + k, Depth % W);
                    for (std::size_t r = 0; r < block_rows; ++r) {
                        const vec a_reg = simd::load_partial(a + (row + r) * Depth + k, Depth % W);
                        for (std::size_t c = 0; c < block_cols; ++c)
                            acc[r * block_cols + c] =
                                simd::fma(a_reg, b_regs[c], acc[r * block_cols + c]);
                    }
                }
                T sums[W];
                simd::transpose_sum(acc, sums);
                for (std::size_t r = 0; r < block_rows; ++r)
                    for (std::size_t c = 0; c < block_cols; ++c)
                        store(row + r, col + c, sums[r * block_cols + c]);
            }
            for (; col < Columns; ++col)
                for (std::size_t r = 0; r < block_rows; ++r)
                    store(row + r, col, simd::dot(Depth, a + (row + r) * Depth, b + col * Depth));
        }
    }
    for (; row < row_end; ++row)
        for (std::size_t col = 0; col < Columns; ++col)
            store(row, col, simd::dot(Depth, a + row * Depth, b + col * Depth));
}

} // namespace kiln::kernels
