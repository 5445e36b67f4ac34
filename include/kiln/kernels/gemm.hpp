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
#include "kiln/kernels/simd.hpp"

#include <cstddef>
#include <utility>

namespace kiln::kernels {

template <class T, std::size_t Rows, std::size_t Vecs, std::size_t Tail>
struct tile {
    static constexpr std::size_t rows = Rows;
    static constexpr std::size_t registers = Vecs + (Tail != 0 ? 1 : 0);
    simd::vec<T> acc[Rows][registers];

    // f(row, column offset within the tile, register, lanes as a std::integral_constant),
    // unrolled at compile time so that the accumulators stay in registers.
    template <class F>
    [[gnu::always_inline]] inline void for_each(F&& f) {
        [&]<std::size_t... R>(std::index_sequence<R...>) {
            (for_row<R>(f), ...);
        }
        (std::make_index_sequence<Rows>{});
    }

private:
    template <std::size_t R, class F>
    [[gnu::always_inline]] inline void for_row(F& f) {
        [&]<std::size_t... V>(std::index_sequence<V...>) {
            (f(R, V * simd::width<T>, acc[R][V],
               std::integral_constant<std::size_t, simd::width<T>>{}),
             ...);
        }
        (std::make_index_sequence<Vecs>{});
        if constexpr (Tail != 0)
            f(R, Vecs * simd::width<T>, acc[R][Vecs], std::integral_constant<std::size_t, Tail>{});
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

// One tile: rows [0, Rows) of a (already offset to the tile's first row), columns
// [0, Vecs * width + Tail) of b (already offset to the tile's first column).
template <class T, std::size_t N, std::size_t RowStride, std::size_t DepthStride, std::size_t Rows,
          std::size_t Vecs, std::size_t Tail, class Epilogue>
inline void run_tile(const T* a, const T* b, std::size_t depth, std::size_t row, std::size_t column,
                     Epilogue& epilogue) {
    using vec = simd::vec<T>;
    constexpr std::size_t W = simd::width<T>;
    tile<T, Rows, Vecs, Tail> t;
    for (auto& row_acc : t.acc)
        for (auto& r : row_acc)
            r = vec(T{0});
    for (std::size_t k = 0; k < depth; ++k) {
        const T* const b_row = b + k * N;
        vec b_regs[t.registers];
        for (std::size_t v = 0; v < Vecs; ++v)
            b_regs[v] = simd::load(b_row + v * W);
        if constexpr (Tail != 0) b_regs[Vecs] = simd::load_partial(b_row + Vecs * W, Tail);
        for (std::size_t r = 0; r < Rows; ++r) {
            const vec a_value(a[r * RowStride + k * DepthStride]);
            for (std::size_t v = 0; v < t.registers; ++v)
                t.acc[r][v] = simd::fma(a_value, b_regs[v], t.acc[r][v]);
        }
    }
    epilogue(row, column, t);
}

// Calls f.template operator()<R>() for the runtime count R in [1, Max).
template <std::size_t Max, class F>
inline void with_row_count(std::size_t count, F&& f) {
    [&]<std::size_t... R>(std::index_sequence<R...>) {
        ((count == R + 1 ? (f.template operator()<R + 1>(), 0) : 0), ...);
    }
    (std::make_index_sequence<Max - 1>{});
}

} // namespace detail

// Row and column blocking of matmul: 6 rows x 4 registers = 24 accumulators.
inline constexpr std::size_t tile_rows = 6;
inline constexpr std::size_t tile_registers = 4;
// Rows handled together so that their A rows stay in cache while B is swept.
inline constexpr std::size_t panel_rows = 48;

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

// Calls run.template operator()<Rows>(first row) for rows [row_begin, row_end) in
// tiles of tile_rows rows, the last one with what is left.
template <class Run>
[[gnu::always_inline]] inline void for_row_tiles(std::size_t row_begin, std::size_t row_end,
                                                 Run&& run) {
    std::size_t row = row_begin;
    for (; row + tile_rows <= row_end; row += tile_rows)
        run.template operator()<tile_rows>(row);
    detail::with_row_count<tile_rows>(
        row_end - row, [&]<std::size_t Rows>() { run.template operator()<Rows>(row); });
}

// Rows [row_begin, row_end) and column blocks [block_begin, block_end) of C = A B,
// with A(m, k) = a[m * RowStride + k * DepthStride] and B(k, n) = b[k * N + n]. For
// each finished tile calls epilogue(first row, first column, tile).
template <class T, std::size_t N, std::size_t RowStride, std::size_t DepthStride, class Epilogue>
void matmul(const T* a, const T* b, std::size_t row_begin, std::size_t row_end, std::size_t depth,
            Epilogue&& epilogue, std::size_t block_begin = 0,
            std::size_t block_end = column_blocks<T, N>) {
    for (std::size_t panel = row_begin; panel < row_end; panel += panel_rows) {
        const std::size_t panel_end = panel + panel_rows < row_end ? panel + panel_rows : row_end;
        for_row_tiles(panel, panel_end, [&]<std::size_t Rows>(std::size_t row) {
            for_column_blocks<T, N>(
                block_begin, block_end,
                [&]<std::size_t Vecs, std::size_t Tail>(std::size_t column) {
                    detail::run_tile<T, N, RowStride, DepthStride, Rows, Vecs, Tail>(
                        a + row * RowStride, b + column, depth, row, column, epilogue);
                });
        });
    }
}

// hand(column, register, lanes) with the sum of rows [0, rows) of an N-wide
// row-major matrix, register by register: a bias gradient.
template <class T, std::size_t N, class Hand>
void sum_rows(const T* m, std::size_t rows, Hand&& hand) {
    constexpr std::size_t W = simd::width<T>;
    std::size_t column = 0;
    for (; column + W <= N; column += W) {
        auto total = simd::load(m + column);
        for (std::size_t r = 1; r < rows; ++r)
            total += simd::load(m + r * N + column);
        hand(column, total, std::integral_constant<std::size_t, W>{});
    }
    if constexpr (N % W != 0) {
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
