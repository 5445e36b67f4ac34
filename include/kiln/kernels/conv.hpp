#pragma once
// The products of a convolution, read in place from the image: no patch matrix
// (im2col) is ever built, so a convolution needs no scratch memory.
//
// gather_matmul:  C(r, :) = sum over the depth d of A(r, d) B(d, :)
// gather_column_sums: the same with one row of ones for A
//                 A(r, d)  = a[row_offset(r) + depth offset of d], read in place
//                 B(d, n)  = b[d * N + n], row-major, N columns (the filters)
//
// A patch of a channels-last image is Kernel runs of Kernel * channels contiguous
// values, one run per kernel row: the depth of the forward product walks those
// runs and the values in each, and each output pixel (r) starts its patch at its
// own offset. The weight gradient is the same product with the roles turned:
// rows are patch entries, and the depth walks the output pixels, example by
// example, output row by output row. depth_walk describes such a walk with
// compile-time strides, so that the compiler can unroll it. The tile is
// gemm.hpp's (Rows x registers of accumulators summed over the whole depth); the
// caller's epilogue decides what a finished tile does.
#include "kiln/core/always_inline.hpp"
#include "kiln/kernels/gemm.hpp"
#include "kiln/kernels/simd.hpp"

#include <cstddef>
#include <utility>

namespace kiln::kernels {

// The depth of a gather product: runs o in a runtime range, OuterStride apart in
// A; in each, Middle runs MiddleStride apart; in each of those, Inner values
// InnerStride apart. B's rows follow the depth in that order: each outer run
// starts BOuterRows rows after the last, each middle run BMiddleRows rows after
// the last (by default one after another; more when the walk covers only part of
// B, as the output pixels of a padded convolution that read no padding).
template <std::size_t OuterStride, std::size_t Middle, std::size_t MiddleStride, std::size_t Inner,
          std::size_t InnerStride, std::size_t BOuterRows = Middle* Inner,
          std::size_t BMiddleRows = Inner>
struct depth_walk {
    static constexpr std::size_t outer_stride = OuterStride;
    static constexpr std::size_t middle = Middle;
    static constexpr std::size_t middle_stride = MiddleStride;
    static constexpr std::size_t inner = Inner;
    static constexpr std::size_t inner_stride = InnerStride;
    static constexpr std::size_t b_outer_rows = BOuterRows;
    static constexpr std::size_t b_middle_rows = BMiddleRows;
};

namespace detail {

// With Ones, the tile is one row of ones (a is not read): it sums B's rows.
template <class T, std::size_t N, class Walk, std::size_t Rows, std::size_t Vecs, std::size_t Tail,
          bool Ones, class Epilogue>
inline void run_gather_tile(const T* a, const std::size_t (&offsets)[Rows], const T* b,
                            std::size_t outer_begin, std::size_t outer_end, std::size_t row,
                            std::size_t column, Epilogue& epilogue) {
    using vec = simd::vec<T>;
    constexpr std::size_t W = simd::width<T>;
    tile<T, Rows, Vecs, Tail> t;
    // Rows and registers unrolled by force, as in gemm.hpp's run_tile.
#pragma GCC unroll 16
    for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 16
        for (std::size_t v = 0; v < t.registers; ++v)
            t.acc[r][v] = vec(T{0});
    for (std::size_t o = outer_begin; o < outer_end; ++o) {
        const T* rows[Rows];
#pragma GCC unroll 16
        for (std::size_t r = 0; r < Rows; ++r)
            rows[r] = a + o * Walk::outer_stride + offsets[r];
        const T* const b_outer = b + o * Walk::b_outer_rows * N;
        for (std::size_t m = 0; m < Walk::middle; ++m) {
            const T* b_row = b_outer + m * Walk::b_middle_rows * N;
            for (std::size_t k = 0; k < Walk::inner; ++k, b_row += N) {
                vec b_regs[t.registers];
#pragma GCC unroll 16
                for (std::size_t v = 0; v < Vecs; ++v)
                    b_regs[v] = simd::load(b_row + v * W);
                if constexpr (Tail != 0) b_regs[Vecs] = simd::load_partial(b_row + Vecs * W, Tail);
                if constexpr (Ones) {
#pragma GCC unroll 16
                    for (std::size_t v = 0; v < t.registers; ++v)
                        t.acc[0][v] += b_regs[v];
                } else {
#pragma GCC unroll 16
                    for (std::size_t r = 0; r < Rows; ++r) {
                        const vec a_value(
                            rows[r][m * Walk::middle_stride + k * Walk::inner_stride]);
#pragma GCC unroll 16
                        for (std::size_t v = 0; v < t.registers; ++v)
                            t.acc[r][v] = simd::fma(a_value, b_regs[v], t.acc[r][v]);
                    }
                }
            }
        }
    }
    // The epilogue gets a copy: if it is not inlined, only the copy goes through
    // memory, and the accumulators above stay in registers.
    auto finished = t;
    epilogue(row, column, finished);
}

// The tiles of rows [row, row + Rows) in column blocks [block_begin, block_end).
template <class T, std::size_t N, class Walk, std::size_t Rows, bool Ones = false, class Epilogue>
[[gnu::always_inline]] inline void
run_gather_row(const T* a, const std::size_t (&offsets)[Rows], const T* b, std::size_t outer_begin,
               std::size_t outer_end, std::size_t row, Epilogue& epilogue, std::size_t block_begin,
               std::size_t block_end) {
    for_column_blocks<T, N>(
        block_begin, block_end,
        [&]<std::size_t Vecs, std::size_t Tail>(std::size_t column) KILN_ALWAYS_INLINE {
            run_gather_tile<T, N, Walk, Rows, Vecs, Tail, Ones>(a, offsets, b + column, outer_begin,
                                                                outer_end, row, column, epilogue);
        });
}

} // namespace detail

// Rows [row_begin, row_end) and column blocks [block_begin, block_end) of the
// product above, over the depth Walk with outer runs [outer_begin, outer_end);
// row_offset(r) gives row r's offset into a. Calls epilogue(first row, first
// column, tile) for every finished tile.
template <class T, std::size_t N, class Walk, class RowOffset, class Epilogue>
void gather_matmul(const T* a, const T* b, std::size_t row_begin, std::size_t row_end,
                   const RowOffset& row_offset, std::size_t outer_begin, std::size_t outer_end,
                   Epilogue&& epilogue, std::size_t block_begin = 0,
                   std::size_t block_end = column_blocks<T, N>) {
    for_row_tiles(row_begin, row_end, [&]<std::size_t Rows>(std::size_t row) KILN_ALWAYS_INLINE {
        std::size_t offsets[Rows];
        for (std::size_t r = 0; r < Rows; ++r)
            offsets[r] = row_offset(row + r);
        detail::run_gather_row<T, N, Walk, Rows>(a, offsets, b, outer_begin, outer_end, row,
                                                 epilogue, block_begin, block_end);
    });
}

// The column sums of B over the depth Walk with outer runs [outer_begin,
// outer_end), in column blocks [block_begin, block_end): the product of a row of
// ones, as gather_matmul's one-row tiles sum (a bias's gradient beside its
// weights', over the chunk of dy the weights' tiles just read). Calls
// epilogue(0, first column, tile) for every finished tile.
template <class T, std::size_t N, class Walk, class Epilogue>
void gather_column_sums(const T* b, std::size_t outer_begin, std::size_t outer_end,
                        Epilogue&& epilogue, std::size_t block_begin = 0,
                        std::size_t block_end = column_blocks<T, N>) {
    const std::size_t offsets[1] = {0};
    detail::run_gather_row<T, N, Walk, 1, true>(b, offsets, b, outer_begin, outer_end, 0, epilogue,
                                                block_begin, block_end);
}

// gather_matmul for rows some of whose patches reach past the image into zero
// padding. A row tile whose rows all read inside (inside(r)) runs in place as
// above; another gathers its rows' patches, zeros on the padding, into a buffer
// on the stack (gather(r, to) writes row r's Depth entries) and runs over that:
// only the tiles at the border pay for a copy, and no padded image is built.
template <class T, std::size_t N, class Walk, std::size_t Depth, class Inside, class RowOffset,
          class Gather, class Epilogue>
void gather_matmul_padded(const T* a, const T* b, std::size_t row_begin, std::size_t row_end,
                          const Inside& inside, const RowOffset& row_offset, const Gather& gather,
                          std::size_t outer_begin, std::size_t outer_end, Epilogue&& epilogue,
                          std::size_t block_begin = 0,
                          std::size_t block_end = column_blocks<T, N>) {
    using gathered_walk = depth_walk<0, 1, 0, Depth, 1>;
    for_row_tiles(row_begin, row_end, [&]<std::size_t Rows>(std::size_t row) KILN_ALWAYS_INLINE {
        bool all_inside = true;
        for (std::size_t r = 0; r < Rows; ++r)
            all_inside = all_inside && inside(row + r);
        std::size_t offsets[Rows];
        if (all_inside) {
            for (std::size_t r = 0; r < Rows; ++r)
                offsets[r] = row_offset(row + r);
            detail::run_gather_row<T, N, Walk, Rows>(a, offsets, b, outer_begin, outer_end, row,
                                                     epilogue, block_begin, block_end);
            return;
        }
        alignas(64) T patches[Rows * Depth];
        for (std::size_t r = 0; r < Rows; ++r) {
            gather(row + r, patches + r * Depth);
            offsets[r] = r * Depth;
        }
        detail::run_gather_row<T, N, gathered_walk, Rows>(patches, offsets, b, 0, 1, row, epilogue,
                                                          block_begin, block_end);
    });
}

} // namespace kiln::kernels
