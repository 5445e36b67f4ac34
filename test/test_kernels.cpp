// The SIMD kernels and every fused or threaded path against plain references:
// matmul and matmul_nt against naive loops at sizes that exercise every tail;
// fused networks against kiln::unfused_sequential; the update folded into the
// weight-gradient pass against a stored gradient and a flat update; two threads
// against one. The fused and threaded paths must agree bit for bit.
#include <kiln/kiln.hpp>

#include <doctest/doctest.h>

#include "support/training_run.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

namespace {

// Two pages, the second unreadable: a partial load or store that touches a lane
// past its count at the end of the first page crashes the test.
class page_before_a_hole {
public:
    page_before_a_hole() {
        const auto size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        void* pages =
            mmap(nullptr, 2 * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        REQUIRE(pages != MAP_FAILED);
        REQUIRE(mprotect(static_cast<char*>(pages) + size, size, PROT_NONE) == 0);
        begin_ = static_cast<char*>(pages);
        size_ = size;
    }
    ~page_before_a_hole() { munmap(begin_, 2 * size_); }
    page_before_a_hole(const page_before_a_hole&) = delete;
    page_before_a_hole& operator=(const page_before_a_hole&) = delete;

    // The last n values of type T before the hole.
    template <class T>
    T* last(std::size_t n) const {
        return reinterpret_cast<T*>(begin_ + size_) - n;
    }

private:
    char* begin_;
    std::size_t size_;
};

// The lanes of v, in order.
template <class T>
std::vector<T> lanes_of(const kiln::simd::vec<T>& v) {
    std::vector<T> lanes(kiln::simd::width<T>);
    kiln::simd::store(lanes.data(), v);
    return lanes;
}

template <class T>
std::vector<T> random_values(std::size_t count, std::uint64_t seed) {
    kiln::rng random(seed);
    std::vector<T> values(count);
    for (auto& v : values)
        v = static_cast<T>(random.normal());
    return values;
}

// Requires c (rows x columns, row-major) to hold scale * sum_k a(m, k) b(k, n) for
// every m, n, the sums taken in long double.
template <class T, class A, class B>
void require_product(const T* c, std::size_t rows, std::size_t columns, std::size_t depth, A a, B b,
                     long double scale = 1) {
    for (std::size_t m = 0; m < rows; ++m)
        for (std::size_t n = 0; n < columns; ++n) {
            long double expected = 0;
            for (std::size_t k = 0; k < depth; ++k)
                expected += (long double)a(m, k) * b(k, n);
            INFO("m ", m, " n ", n);
            // Relative to the sum's typical size, sqrt(depth) for these values:
            // rounding stays far below it, one wrong term does not.
            REQUIRE(double(c[m * columns + n]) ==
                    doctest::Approx(double(scale * expected))
                        .epsilon(1e-4)
                        .scale(std::sqrt(static_cast<double>(depth))));
        }
}

using kiln::testing::same_bits;

// C = A B against naive loops, with A stored row-major (row stride 37) or
// transposed (depth stride 64, as the weight gradient reads x), and the column
// blocks split between `parts` as the thread pool splits them.
template <class T, std::size_t N, bool Transposed>
void check_matmul(std::size_t rows, std::size_t depth, std::size_t parts) {
    constexpr std::size_t row_stride = Transposed ? 1 : 37;
    constexpr std::size_t depth_stride = Transposed ? 64 : 1;
    REQUIRE(rows <= 64);
    REQUIRE(depth <= 37);
    const auto a = random_values<T>(64 * 37, 1);
    const auto b = random_values<T>(depth * N, 2);
    std::vector<T> c(rows * N, T{-99});
    auto epilogue = [&](std::size_t row, std::size_t column, auto& tile) {
        tile.for_each([&](std::size_t r, std::size_t col, auto& value, auto lanes) {
            kiln::kernels::store_lanes<decltype(lanes)::value>(&c[(row + r) * N + column + col],
                                                               value);
        });
    };
    constexpr std::size_t blocks = kiln::kernels::column_blocks<T, N>;
    for (std::size_t part = 0; part < parts; ++part) {
        const auto range = kiln::work_share{part, parts}.rows(blocks);
        kiln::kernels::matmul<T, N, row_stride, depth_stride>(a.data(), b.data(), 0, rows, depth,
                                                              epilogue, range.begin, range.end);
    }
    require_product(
        c.data(), rows, N, depth,
        [&](std::size_t m, std::size_t k) { return a[m * row_stride + k * depth_stride]; },
        [&](std::size_t k, std::size_t n) { return b[k * N + n]; });
}

// C = A B for a square A that is zero above (or below) its diagonal, as causal
// attention's products see it: the kernel skips those zeros tile by tile, reads B
// through a row stride wider than N, and must still give the whole product. A is
// read row-major or, as attention's dk = dS^T q reads dS, transposed. With a
// FixedSize, small_matmul (the row count known at compile time, as attention calls
// it) must give matmul's result bit for bit: the same tiles over the same rows.
template <class T, std::size_t N, kiln::kernels::zeros Skips, bool Transposed,
          std::size_t FixedSize = 0>
void check_triangular_matmul(std::size_t size) {
    using kiln::kernels::zeros;
    constexpr std::size_t stride = 64, b_stride = N + 3;
    constexpr std::size_t row_stride = Transposed ? 1 : stride;
    constexpr std::size_t depth_stride = Transposed ? stride : 1;
    REQUIRE(size <= stride);
    auto a = random_values<T>(stride * stride, 5);
    auto a_at = [&](std::size_t m, std::size_t k) -> T& {
        return a[m * row_stride + k * depth_stride];
    };
    for (std::size_t m = 0; m < size; ++m)
        for (std::size_t k = 0; k < size; ++k)
            if ((Skips == zeros::above_diagonal && k > m) ||
                (Skips == zeros::below_diagonal && k < m))
                a_at(m, k) = T{0};
    const auto b = random_values<T>(size * b_stride, 6);
    std::vector<T> c(size * N, T{-99});
    kiln::kernels::matmul<T, N, row_stride, depth_stride, b_stride, Skips>(
        a.data(), b.data(), 0, size, size, kiln::kernels::store_scaled(c.data(), N, T{2}));
    INFO("size ", size);
    require_product(
        c.data(), size, N, size, a_at,
        [&](std::size_t k, std::size_t n) { return b[k * b_stride + n]; }, 2);
    if constexpr (FixedSize != 0) {
        REQUIRE(size == FixedSize);
        std::vector<T> small(size * N, T{-99});
        kiln::kernels::small_matmul<T, FixedSize, N, row_stride, depth_stride, b_stride, Skips>(
            a.data(), b.data(), size, kiln::kernels::store_scaled(small.data(), N, T{2}));
        REQUIRE(same_bits(c, small));
    }
}

// The cover of rows [0, Count) known at compile time is the one computed at run time.
template <std::size_t Count>
void check_fixed_row_tiles() {
    std::vector<std::pair<std::size_t, std::size_t>> fixed, computed; // (first row, rows)
    kiln::kernels::for_row_tiles<Count>(
        [&]<std::size_t Rows>(std::size_t row) { fixed.emplace_back(row, Rows); });
    kiln::kernels::for_row_tiles(
        0, Count, [&]<std::size_t Rows>(std::size_t row) { computed.emplace_back(row, Rows); });
    INFO("count ", Count);
    REQUIRE(fixed == computed);
}

// Runs check with the blocking of a machine with these caches, then this one's again
// (also when a check fails).
template <class Check>
void with_caches(kiln::kernels::cache_sizes caches, Check&& check) {
    struct restore {
        kiln::kernels::blocking mine = kiln::kernels::blocking_in_use();
        ~restore() { kiln::kernels::use_blocking(mine); }
    } guard;
    kiln::kernels::use_blocking(kiln::kernels::blocking_for(caches));
    check();
}

// A B bigger than matmul keeps in L2 (784-1000's W): the product runs one column
// block's panel at a time, copied to the part's packing area when it fits there
// (and there is one), else over chunks of row tiles; split between parts by column
// blocks as the pool splits it, it must give the same C. The rows are one and a
// half chunks and a few, not a whole number of tiles; the chunk depends on the
// panel's width, so on the SIMD target.
template <class T, std::size_t N, std::size_t Depth>
void check_panelled_matmul(std::size_t parts, bool with_packing) {
    const auto& plan = kiln::kernels::blocking_in_use();
    REQUIRE(Depth * N * sizeof(T) > plan.whole_b_bytes);
    constexpr std::size_t block_bytes =
        kiln::kernels::tile_registers * kiln::simd::width<T> * sizeof(T);
    const std::size_t chunk = plan.rows_per_panel(Depth * sizeof(T), Depth * block_bytes);
    const std::size_t rows = chunk + chunk / 2 + 5;
    REQUIRE(rows % kiln::kernels::tile_rows != 0);
    const auto a = random_values<T>(rows * Depth, 7);
    const auto b = random_values<T>(Depth * N, 8);
    std::vector<T> c(rows * N, T{-99});
    std::vector<T> area(with_packing ? plan.packing_bytes() / sizeof(T) : 0);
    const kiln::packing_area packing{reinterpret_cast<std::byte*>(area.data()),
                                     area.size() * sizeof(T)};
    constexpr std::size_t blocks = kiln::kernels::column_blocks<T, N>;
    for (std::size_t part = 0; part < parts; ++part) {
        const auto range = kiln::work_share{part, parts}.rows(blocks);
        kiln::kernels::matmul<T, N, Depth, 1>(a.data(), b.data(), 0, rows, Depth,
                                              kiln::kernels::store_scaled(c.data(), N, T{1}),
                                              range.begin, range.end, packing);
    }
    require_product(
        c.data(), rows, N, Depth, [&](std::size_t m, std::size_t k) { return a[m * Depth + k]; },
        [&](std::size_t k, std::size_t n) { return b[k * N + n]; });
}

// A weight gradient's product, C = x^T dy, whose A (x^T) has its rows along x's
// columns, Rows apart: packed tile by tile into the packing area in chunks of rows
// that fit it (several here, the last not a whole number of tiles), or read in
// place without an area.
template <class T, std::size_t Rows, std::size_t N>
void check_matmul_over_strided_a(std::size_t depth, std::size_t area_bytes) {
    const auto& plan = kiln::kernels::blocking_in_use();
    REQUIRE(depth * N * sizeof(T) > plan.whole_b_bytes);
    const auto x = random_values<T>(depth * Rows, 11);
    const auto dy = random_values<T>(depth * N, 12);
    std::vector<T> c(Rows * N, T{-99});
    std::vector<T> area(area_bytes / sizeof(T));
    kiln::kernels::matmul<T, N, 1, Rows>(x.data(), dy.data(), 0, Rows, depth,
                                         kiln::kernels::store_scaled(c.data(), N, T{1}), 0,
                                         kiln::kernels::column_blocks<T, N>,
                                         {reinterpret_cast<std::byte*>(area.data()), area_bytes});
    require_product(
        c.data(), Rows, N, depth, [&](std::size_t m, std::size_t k) { return x[k * Rows + m]; },
        [&](std::size_t k, std::size_t n) { return dy[k * N + n]; });
}

// An affine layer's weight and bias gradient over more rows than one of its
// chunks, so that partial sums pass through memory between chunks, against x^T dy
// and the column sums of dy, with the work split between `parts` as the pool does.
template <class T, std::size_t In, std::size_t Out>
void check_chunked_weight_gradient(std::size_t rows, std::size_t parts, bool with_packing) {
    using products = kiln::affine_products<In, Out, true>;
    REQUIRE(rows > products::template batch_chunk<T>());
    const auto x = random_values<T>(rows * In, 9);
    const auto dy = random_values<T>(rows * Out, 10);
    std::vector<T> gradient(products::bias_offset + Out, T{-99});
    typename kiln::store_gradients<T>::slice_sink sink{gradient.data()};
    const std::size_t area_bytes =
        with_packing ? kiln::kernels::blocking_in_use().packing_bytes() : 0;
    std::vector<T> area(area_bytes / sizeof(T));
    for (std::size_t part = 0; part < parts; ++part)
        products::backward_params(
            gradient.data(), x.data(), dy.data(), rows, sink,
            kiln::work_share{part, parts, {reinterpret_cast<std::byte*>(area.data()), area_bytes}});
    auto dy_at = [&](std::size_t r, std::size_t o) { return dy[r * Out + o]; };
    require_product(
        gradient.data(), In, Out, rows, [&](std::size_t i, std::size_t r) { return x[r * In + i]; },
        dy_at);
    require_product(
        gradient.data() + products::bias_offset, 1, Out, rows,
        [](std::size_t, std::size_t) { return 1.0; }, dy_at);
}

template <class T, std::size_t Depth, std::size_t Columns>
void check_matmul_nt(std::size_t rows) {
    const auto a = random_values<T>(rows * Depth, 3);
    const auto b = random_values<T>(Columns * Depth, 4);
    std::vector<T> c(rows * Columns, T{-99});
    kiln::kernels::matmul_nt<T, Depth, Columns>(
        a.data(), b.data(), 0, rows,
        [&](std::size_t m, std::size_t n, T v) { c[m * Columns + n] = v; });
    for (std::size_t m = 0; m < rows; ++m)
        for (std::size_t n = 0; n < Columns; ++n) {
            long double expected = 0;
            for (std::size_t k = 0; k < Depth; ++k)
                expected += (long double)a[m * Depth + k] * b[n * Depth + k];
            REQUIRE(double(c[m * Columns + n]) == doctest::Approx(double(expected)).epsilon(1e-4));
        }
}

using fused_net = kiln::sequential<kiln::input<3, 10>, kiln::flatten, kiln::linear<70>, kiln::relu,
                                   kiln::linear<33>, kiln::relu, kiln::linear<5>>;
using unfused_net =
    kiln::unfused_sequential<kiln::input<3, 10>, kiln::flatten, kiln::linear<70>, kiln::relu,
                             kiln::linear<33>, kiln::relu, kiln::linear<5>>;
static_assert(fused_net::layer_t<3>::is_view && fused_net::layer_t<3>::passes_gradient);
static_assert(!unfused_net::layer_t<3>::is_view && !unfused_net::layer_t<3>::passes_gradient);
static_assert(std::is_same_v<fused_net::layer_t<2>::applied, kiln::relu> &&
              std::is_same_v<fused_net::layer_t<4>::absorbed, kiln::relu>);

using kiln::testing::run_training;

// The parameters the fused-against-unfused runs start from.
constexpr kiln::init::normal scheme{0, 0.3};

} // namespace

TEST_SUITE("kernels") {
    // The masked loads and stores of AVX-512 and the copies through a register-sized
    // buffer on every other target (SSE, AVX2, NEON).
    TEST_CASE_TEMPLATE("partial registers read and write only their lanes", T, float, double) {
        constexpr std::size_t W = kiln::simd::width<T>;
        page_before_a_hole memory;
        for (std::size_t n = 0; n < W; ++n) {
            INFO(n, " of ", W, " lanes");
            T* values = memory.last<T>(n);
            for (std::size_t i = 0; i < n; ++i)
                values[i] = static_cast<T>(i + 1);
            const auto loaded = lanes_of<T>(kiln::simd::load_partial(values, n));
            for (std::size_t i = 0; i < W; ++i)
                CHECK(loaded[i] == (i < n ? static_cast<T>(i + 1) : T{0}));

            T* out = memory.last<T>(n);
            T* before = out - 1;
            *before = T{-7};
            std::fill_n(out, n, T{-1});
            kiln::simd::store_partial(out, kiln::simd::vec<T>(T{5}), n);
            CHECK(*before == T{-7});
            CHECK(std::count(out, out + n, T{5}) == static_cast<long>(n));
        }
    }

    TEST_CASE_TEMPLATE("register helpers agree with loops over the lanes", T, float, double) {
        constexpr std::size_t W = kiln::simd::width<T>;
        const auto values = random_values<T>(W * W, 11);
        std::vector<kiln::simd::vec<T>> rows;
        for (std::size_t r = 0; r < W; ++r)
            rows.push_back(kiln::simd::load(values.data() + r * W));
        std::vector<T> sums(W);
        kiln::simd::transpose_sum(rows.data(), sums.data());
        for (std::size_t r = 0; r < W; ++r) {
            INFO("register ", r);
            const T* row = values.data() + r * W;
            T sum = 0;
            for (std::size_t i = 0; i < W; ++i)
                sum += row[i];
            CHECK(sums[r] == doctest::Approx(sum));
            CHECK(kiln::simd::reduce_max(rows[r]) == *std::max_element(row, row + W));
            for (std::size_t first : {std::size_t{0}, W, 3 * W}) {
                for (std::size_t count = first; count <= first + W; ++count) {
                    const auto kept = lanes_of<T>(
                        kiln::simd::keep_below(rows[r], first, count, kiln::simd::vec<T>(T{-9})));
                    for (std::size_t i = 0; i < W; ++i)
                        CHECK(kept[i] == (first + i < count ? row[i] : T{-9}));
                }
            }
        }
    }

    TEST_CASE_TEMPLATE("matmul over a triangular A skips only its zeros", T, float, double) {
        using kiln::kernels::zeros;
        for (std::size_t size : {1, 2, 5, 6, 7, 11, 16, 20, 32, 37, 64}) {
            check_triangular_matmul<T, 16, zeros::above_diagonal, false>(size);
            check_triangular_matmul<T, 16, zeros::below_diagonal, true>(size);
            check_triangular_matmul<T, 8, zeros::below_diagonal, false>(size);
            check_triangular_matmul<T, 33, zeros::above_diagonal, true>(size);
        }
    }

    TEST_CASE_TEMPLATE("small_matmul gives matmul's product for sizes known at compile time", T,
                       float, double) {
        using kiln::kernels::zeros;
        [&]<std::size_t... Size>(std::index_sequence<Size...>) {
            (check_triangular_matmul<T, 16, zeros::above_diagonal, false, Size>(Size), ...);
            (check_triangular_matmul<T, 8, zeros::below_diagonal, true, Size>(Size), ...);
            (check_triangular_matmul<T, 33, zeros::none, false, Size>(Size), ...);
        }
        (std::index_sequence<1, 2, 5, 13, 32, 64>{});
    }

    TEST_CASE("the blocking derived for known CPUs fits their registers and caches") {
        struct cpu {
            const char* name;
            std::size_t l1d_kib, l2_kib, registers, floats_per_register;
        };
        // Per core: L1d, L2 (Apple M1: the P-cluster's shared L2), vector registers and
        // their floats as xsimd uses them (NEON's 4 on AArch64, also where SVE is wider).
        const cpu cpus[] = {
            {"Haswell", 32, 256, 16, 8},           {"Skylake-X", 32, 1024, 32, 16},
            {"Sapphire Rapids", 48, 2048, 32, 16}, {"Emerald Rapids", 48, 2048, 32, 16},
            {"Zen 4", 32, 1024, 32, 16},           {"Zen 5", 48, 1024, 32, 16},
            {"Neoverse N2", 64, 1024, 32, 4},      {"Neoverse V1", 64, 1024, 32, 4},
            {"Apple M1", 128, 12288, 32, 4},       {"SSE2 baseline", 32, 512, 16, 4}};
        for (const cpu& c : cpus) {
            INFO(c.name);
            // The tile's accumulators, one B register per column register and the
            // broadcast fit; at least 8 accumulators hide 4 cycles of FMA latency
            // on 2 FMA units.
            const std::size_t across = kiln::kernels::tile_registers_for(c.registers);
            CHECK(kiln::kernels::tile_rows * across + across + 1 <= c.registers);
            CHECK(kiln::kernels::tile_rows * across >= 8);
            const auto plan = kiln::kernels::blocking_for({c.l1d_kib << 10, c.l2_kib << 10});
            CHECK(plan.whole_b_bytes <= plan.caches.l2_bytes / 2);
            // The products of a 784-1000-10 step: 784 deep (forward) and 500 deep
            // (a weight gradient's chunk); a chunk of A's rows and a panel share L2.
            const std::size_t panel_columns = across * c.floats_per_register;
            for (std::size_t depth : {784, 500}) {
                const std::size_t panel = depth * panel_columns * sizeof(float);
                const std::size_t rows = plan.rows_per_panel(depth * sizeof(float), panel);
                CHECK(rows % kiln::kernels::tile_rows == 0);
                CHECK(rows >= kiln::kernels::tile_rows);
                CHECK(rows * depth * sizeof(float) + panel <= plan.caches.l2_bytes / 2);
            }
            const std::size_t chunk =
                plan.gradient_rows(panel_columns * sizeof(float), 6 * sizeof(float));
            CHECK(chunk >= 16);
            CHECK(chunk * panel_columns * sizeof(float) <= plan.caches.l2_bytes / 4);
            CHECK(chunk * kiln::kernels::tile_rows * sizeof(float) <= plan.caches.l1d_bytes / 2);
        }
        // On Zen 5 the model gives the values measured best there before it existed:
        // B whole up to 512 KiB, gradient chunks of 1024 rows, 96 rows per panel for
        // 784-deep products (the model: 102, the same number of tiles within one).
        const auto zen5 = kiln::kernels::blocking_for({48 << 10, 1024 << 10});
        CHECK(zen5.whole_b_bytes == 512 << 10);
        CHECK(zen5.gradient_rows(64 * sizeof(float), 6 * sizeof(float)) == 1024);
        CHECK(zen5.rows_per_panel(784 * sizeof(float), 784 * 64 * sizeof(float)) == 102);
    }

    TEST_CASE("cache sizes read as Linux writes them, and refused when they are not sizes") {
        CHECK(kiln::kernels::detail::parse_size("48K") == 48 << 10);
        CHECK(kiln::kernels::detail::parse_size("2048K") == 2 << 20);
        CHECK(kiln::kernels::detail::parse_size("2M") == 2 << 20);
        CHECK(kiln::kernels::detail::parse_size("65536") == 65536);
        CHECK(kiln::kernels::detail::parse_size("big") == 0);
        CHECK(kiln::kernels::detail::parse_size("12Q") == 0);
        const auto here = kiln::kernels::detect_caches();
        CHECK(here.l1d_bytes >= 4096);
        CHECK(here.l2_bytes >= here.l1d_bytes);
    }

    // Small caches, so that these sizes need several panels and chunks on any machine.
    TEST_CASE_TEMPLATE("matmul over a B beyond L2 runs panel by panel", T, float, double) {
        with_caches({32 << 10, 256 << 10}, [] {
            for (std::size_t parts : {1, 2}) {
                for (bool with_packing : {true, false}) {
                    INFO("parts ", parts, ", packing area ", with_packing);
                    check_panelled_matmul<T, 1000, 140>(parts, with_packing); // panels copied
                    check_panelled_matmul<T, 1003, 131>(parts, with_packing);
                    // panels in chunks of rows
                    check_panelled_matmul<T, 100, 4100>(parts, with_packing);
                }
            }
        });
    }

    TEST_CASE_TEMPLATE("matmul packs an A whose rows are strided, chunk by chunk", T, float,
                       double) {
        with_caches({32 << 10, 256 << 10}, [] {
            const std::size_t block_bytes =
                kiln::kernels::tile_registers * kiln::simd::width<T> * sizeof(T);
            const std::size_t depth = 300;
            const std::size_t panel = depth * block_bytes;
            // Room for 3 tiles of packed rows: 131 rows are 7 chunks and 5 rows.
            check_matmul_over_strided_a<T, 131, 1000>(depth, panel + 3 * 6 * depth * sizeof(T));
            check_matmul_over_strided_a<T, 131, 1000>(depth, 1 << 20); // one chunk
            check_matmul_over_strided_a<T, 131, 1000>(depth, panel);   // no room: in place
            check_matmul_over_strided_a<T, 131, 1000>(depth, 0);       // no area
        });
    }

    TEST_CASE_TEMPLATE("a weight gradient over several chunks of rows sums them all", T, float,
                       double) {
        with_caches({16 << 10, 128 << 10}, [] {
            for (std::size_t parts : {1, 2})
                for (bool with_packing : {true, false}) {
                    INFO("parts ", parts, ", packing area ", with_packing);
                    check_chunked_weight_gradient<T, 13, 37>(2 * 1024 + 3, parts, with_packing);
                    check_chunked_weight_gradient<T, 7, 1000>(1024 + 1, parts, with_packing);
                    // Enough rows of W for matmul to pack x^T (kernels/gemm.hpp).
                    check_chunked_weight_gradient<T, 100, 1000>(
                        2 * kiln::affine_products<100, 1000, true>::batch_chunk<T>() + 3, parts,
                        with_packing);
                }
        });
    }

    TEST_CASE("row tiles cover every row once, for every count and start") {
        for (std::size_t begin : {0, 3})
            for (std::size_t count = 0; count <= 300; ++count) {
                std::vector<int> covered(begin + count, 0);
                kiln::kernels::for_row_tiles(begin, begin + count,
                                             [&]<std::size_t Rows>(std::size_t row) {
                                                 for (std::size_t r = 0; r < Rows; ++r)
                                                     ++covered.at(row + r);
                                             });
                for (std::size_t row = begin; row < begin + count; ++row) {
                    INFO("count ", count, " row ", row);
                    REQUIRE(covered[row] == 1);
                }
            }
    }

    TEST_CASE("row tiles known at compile time are those computed at run time") {
        []<std::size_t... Count>(std::index_sequence<Count...>) {
            (check_fixed_row_tiles<Count>(), ...);
        }
        (std::make_index_sequence<41>{});
    }

    TEST_CASE_TEMPLATE("matmul matches naive loops at every tail", T, float, double) {
        for (std::size_t rows : {1, 2, 3, 4, 5, 6, 7, 9, 10, 13, 19, 20, 50, 64})
            for (std::size_t depth : {1, 3, 37}) {
                for (std::size_t parts : {1, 2, 3}) {
                    check_matmul<T, 1, false>(rows, depth, parts);
                    check_matmul<T, 10, false>(rows, depth, parts);
                    check_matmul<T, 16, false>(rows, depth, parts);
                    check_matmul<T, 17, false>(rows, depth, parts);
                    check_matmul<T, 100, false>(rows, depth, parts);
                    check_matmul<T, 130, false>(rows, depth, parts);
                }
                check_matmul<T, 70, true>(rows, depth, 1);
                check_matmul<T, 128, true>(rows, depth, 2);
            }
    }

    TEST_CASE_TEMPLATE("matmul_nt matches naive loops at every tail", T, float, double) {
        for (std::size_t rows : {1, 3, 4, 5, 9}) {
            check_matmul_nt<T, 1, 1>(rows);
            check_matmul_nt<T, 10, 3>(rows);
            check_matmul_nt<T, 10, 128>(rows);
            check_matmul_nt<T, 16, 4>(rows);
            check_matmul_nt<T, 37, 9>(rows);
            check_matmul_nt<T, 128, 10>(rows);
        }
    }

    TEST_CASE_TEMPLATE("fused layers give the unfused results bit for bit", T, float, double) {
        for (std::size_t batch : {1, 5, 300}) {
            const auto fused = run_training<fused_net, T>(batch, {}, scheme);
            const auto unfused = run_training<unfused_net, T>(batch, {}, scheme);
            CHECK(same_bits(fused.logits, unfused.logits));
            CHECK(same_bits(fused.gradients, unfused.gradients));
            CHECK(same_bits(fused.input_gradient, unfused.input_gradient));
            CHECK(same_bits(fused.parameters_after_steps, unfused.parameters_after_steps));
        }
    }

    TEST_CASE_TEMPLATE("the update folded into backward equals gradient then flat update", T, float,
                       double) {
        for (std::size_t batch : {1, 7, 300}) {
            const auto folded = run_training<fused_net, T>(batch, {}, scheme);
            const auto separate =
                run_training<fused_net, T>(batch, {.fused_update = false}, scheme);
            CHECK(same_bits(folded.parameters_after_steps, separate.parameters_after_steps));
        }
    }

    TEST_CASE_TEMPLATE("two threads give one thread's results bit for bit", T, float, double) {
        for (std::size_t batch : {1, 6, 13, 300}) {
            const auto one = run_training<fused_net, T>(batch, {}, scheme);
            const auto two = run_training<fused_net, T>(batch, {.threads = 2}, scheme);
            CHECK(same_bits(one.logits, two.logits));
            CHECK(same_bits(one.gradients, two.gradients));
            CHECK(same_bits(one.input_gradient, two.input_gradient));
            CHECK(same_bits(one.parameters_after_steps, two.parameters_after_steps));
        }
    }

    TEST_CASE("each thread takes its own part of a pass first") {
        // Every part waits (up to a second) until all have begun, so each thread
        // runs one part of every pass; with the parts given in order of arrival,
        // which worker ran part 1 and which part 2 changed from pass to pass.
        constexpr std::size_t threads = 3;
        kiln::thread_pool pool(threads);
        pthread_t first_ran_by[threads] = {};
        for (int pass = 0; pass < 50; ++pass) {
            std::atomic<std::size_t> began{0};
            pthread_t ran_by[threads] = {};
            pool.run(threads, [&](kiln::work_share share) {
                ran_by[share.index] = pthread_self();
                began.fetch_add(1);
                const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
                while (began.load() < threads && std::chrono::steady_clock::now() < give_up)
                    usleep(10);
            });
            CHECK(pthread_equal(ran_by[0], pthread_self()));
            for (std::size_t part = 0; part < threads; ++part) {
                if (pass == 0) first_ran_by[part] = ran_by[part];
                CHECK(pthread_equal(ran_by[part], first_ran_by[part]));
            }
        }
    }

    TEST_CASE("a forward pass over weights beyond L2 splits unless a trainer updates them") {
        using wide =
            kiln::sequential<kiln::input<300>, kiln::linear<100>, kiln::relu, kiln::linear<10>>;
        with_caches({16 << 10, 64 << 10}, [] {
            kiln::thread_pool pool(2);
            kiln::workspace<wide> space(1, pool);
            const std::size_t beyond = (64 << 10) + 1;
            CHECK(space.parts_for(1000, beyond, true) == 2);
            CHECK(space.parts_for(1000, beyond, false) == 1);
            CHECK(space.parts_for(1000, 64 << 10, true) == 1);
            space.set_weights_change_every_step(true);
            CHECK(space.parts_for(1000, beyond, true) == 1);

            // Split by columns, batch 1 gives one core's logits bit for bit.
            kiln::model<wide> net(kiln::init::normal{0, 0.1}, 7);
            const auto x = random_values<float>(300, 8);
            const kiln::batch_view<kiln::shape<300>, const float> input(x.data(), 1);
            kiln::thread_pool one_core(1);
            kiln::workspace<wide> alone(1, one_core);
            const auto split = kiln::forward(net, space, input);
            const auto whole = kiln::forward(net, alone, input);
            CHECK(std::memcmp(split.data(), whole.data(), 10 * sizeof(float)) == 0);
        });
    }

    TEST_CASE("work shares cover every row once") {
        for (std::size_t total : {0, 1, 5, 6, 7, 100, 784})
            for (std::size_t parts : {1, 2, 3}) {
                std::size_t covered = 0, next = 0;
                for (std::size_t p = 0; p < parts; ++p) {
                    const auto range = kiln::work_share{p, parts}.rows(total, 6);
                    CHECK(range.begin == next);
                    covered += range.end - range.begin;
                    next = range.end;
                }
                CHECK(covered == total);
            }
    }
}
