#pragma once
// The only file that talks to xsimd. Everything else uses these few loops, so a
// newer xsimd (whose names differ from Debian 12's 8.1) needs changes here alone.
// g++ 12's AVX-512 intrinsics start some results from `__m512i __Y = __Y;`, which
// -Wuninitialized reports wherever xsimd's exp is inlined (fixed in g++ 13): the
// warning is switched off for those headers alone, which are first included here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <type_traits>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// With no -march, x86-64 compilers target SSE2 (4 floats a register, no FMA), and a
// program runs several times slower than with AVX2 or AVX-512 while nothing at run
// time says so: said here, once per program, unless the choice is deliberate.
#if defined(__x86_64__) && !defined(__SSE4_2__) && !defined(KILN_ALLOW_BASELINE_SIMD)
#if defined(__SSE4_1__)
#define KILN_BASELINE_SIMD_NAME "SSE4.1"
#elif defined(__SSSE3__)
#define KILN_BASELINE_SIMD_NAME "SSSE3"
#elif defined(__SSE3__)
#define KILN_BASELINE_SIMD_NAME "SSE3"
#else
#define KILN_BASELINE_SIMD_NAME "SSE2"
#endif
#pragma message("kiln: compiled for " KILN_BASELINE_SIMD_NAME                                      \
                ", x86-64's baseline, which runs several times slower than AVX2 or AVX-512. "      \
                "Fix: compile with -march=native (or -march=x86-64-v3), or define "                \
                "KILN_ALLOW_BASELINE_SIMD to keep this target and silence this message.")
#undef KILN_BASELINE_SIMD_NAME
#endif

namespace kiln::simd {

template <class T>
using vec = xsimd::batch<T>;

template <class T>
inline constexpr std::size_t width = vec<T>::size;

// Sum of a register's lanes: `hadd` in xsimd 8, `reduce_add` from xsimd 9 on.
template <class T>
inline T reduce_add(const vec<T>& v) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
    return xsimd::reduce_add(v);
#else
    return xsimd::hadd(v);
#endif
}

template <class T>
inline vec<T> load(const T* p) noexcept {
    return vec<T>::load_unaligned(p);
}
template <class T>
inline void store(T* p, const vec<T>& v) noexcept {
    v.store_unaligned(p);
}

// The first n (< width) lanes from p, the rest zero; nothing past p + n is read.
template <class T>
inline vec<T> load_partial(const T* p, std::size_t n) noexcept {
#if defined(__AVX512F__)
    if constexpr (vec<T>::size * sizeof(T) == 64) {
        const auto mask = static_cast<__mmask16>((1u << n) - 1u);
        if constexpr (std::is_same_v<T, float>)
            return vec<T>(_mm512_maskz_loadu_ps(mask, p));
        else
            return vec<T>(_mm512_maskz_loadu_pd(static_cast<__mmask8>(mask), p));
    }
#endif
    alignas(64) T lanes[width<T>] = {};
    std::copy_n(p, n, lanes);
    return vec<T>::load_aligned(lanes);
}

// Writes the first n (< width) lanes of v to p; nothing past p + n is written.
template <class T>
inline void store_partial(T* p, const vec<T>& v, std::size_t n) noexcept {
#if defined(__AVX512F__)
    if constexpr (vec<T>::size * sizeof(T) == 64) {
        const auto mask = static_cast<__mmask16>((1u << n) - 1u);
        if constexpr (std::is_same_v<T, float>)
            _mm512_mask_storeu_ps(p, mask, v);
        else
            _mm512_mask_storeu_pd(p, static_cast<__mmask8>(mask), v);
        return;
    }
#endif
    alignas(64) T lanes[width<T>];
    v.store_aligned(lanes);
    std::copy_n(lanes, n, p);
}

// sums[i] = the sum of rows[i]'s lanes, for width<T> registers. Not xsimd::haddp:
// in xsimd 8.1 its AVX-512 float version returns the sums in a shuffled order.
template <class T>
inline void transpose_sum(const vec<T>* rows, T* sums) noexcept {
    for (std::size_t i = 0; i < width<T>; ++i)
        sums[i] = reduce_add(rows[i]);
}

template <class T>
inline vec<T> relu(const vec<T>& v) noexcept {
    return xsimd::select(v > vec<T>(T{0}), v, vec<T>(T{0}));
}

// v where mask_source > 0, else 0: relu's backward, given relu's output.
template <class T>
inline vec<T> where_positive(const vec<T>& mask_source, const vec<T>& v) noexcept {
    return xsimd::select(mask_source > vec<T>(T{0}), v, vec<T>(T{0}));
}

// if_positive where mask_source > 0, else otherwise: the two branches of leaky
// relu, elu and prelu, and of their derivatives.
template <class T>
inline vec<T> positive_else(const vec<T>& mask_source, const vec<T>& if_positive,
                            const vec<T>& otherwise) noexcept {
    return xsimd::select(mask_source > vec<T>(T{0}), if_positive, otherwise);
}

// a * b + c: one rounding where the target has FMA (AVX2, AVX-512, NEON), two on SSE.
template <class T>
inline vec<T> fma(const vec<T>& a, const vec<T>& b, const vec<T>& c) noexcept {
    return xsimd::fma(a, b, c);
}

// The larger of a and b in each lane (select, not xsimd::max: see relu below).
template <class T>
inline vec<T> max(const vec<T>& a, const vec<T>& b) noexcept {
    return xsimd::select(b > a, b, a);
}

// The largest lane of v.
template <class T>
inline T reduce_max(const vec<T>& v) noexcept {
#if defined(__AVX512F__)
    if constexpr (vec<T>::size * sizeof(T) == 64) {
        if constexpr (std::is_same_v<T, float>)
            return _mm512_reduce_max_ps(v);
        else
            return _mm512_reduce_max_pd(v);
    }
#endif
    alignas(64) T lanes[width<T>];
    v.store_aligned(lanes);
    return *std::max_element(lanes, lanes + width<T>);
}

// v in the lanes whose number counted from `first` is below `count`, `otherwise`
// in the rest: a register's part of a row's first `count` entries.
template <class T>
inline vec<T> keep_below(const vec<T>& v, std::size_t first, std::size_t count,
                         const vec<T>& otherwise) noexcept {
    alignas(64) static constexpr auto lane_numbers = [] {
        std::array<T, width<T>> numbers{};
        for (std::size_t i = 0; i < numbers.size(); ++i)
            numbers[i] = static_cast<T>(i);
        return numbers;
    }();
    const vec<T> numbers =
        vec<T>::load_aligned(lane_numbers.data()) + vec<T>(static_cast<T>(first));
    return xsimd::select(numbers < vec<T>(static_cast<T>(count)), v, otherwise);
}

// if_equal in the lanes where a == b, otherwise elsewhere.
template <class T>
inline vec<T> select_equal(const vec<T>& a, const vec<T>& b, const vec<T>& if_equal,
                           const vec<T>& otherwise) noexcept {
    return xsimd::select(a == b, if_equal, otherwise);
}

// e^v in every lane (softmax in the attention and the loss).
template <class T>
inline vec<T> exp(const vec<T>& v) noexcept {
    return xsimd::exp(v);
}

// e^v - 1 in every lane, exact near 0 where exp(v) - 1 would cancel (elu).
template <class T>
inline vec<T> expm1(const vec<T>& v) noexcept {
    return xsimd::expm1(v);
}

// The square root of every lane, to full precision (AdamW).
template <class T>
inline vec<T> sqrt(const vec<T>& v) noexcept {
    return xsimd::sqrt(v);
}

// tanh and erf of every lane (activations).
template <class T>
inline vec<T> tanh(const vec<T>& v) noexcept {
    return xsimd::tanh(v);
}
template <class T>
inline vec<T> erf(const vec<T>& v) noexcept {
    return xsimd::erf(v);
}

// out[i] = f(in[i]...) for a function f of registers, the last register partial
// (an activation's passes). out may be one of the inputs.
template <class T, class F, class... In>
inline void map(std::size_t n, T* out, F&& f, const In*... in) noexcept {
    const std::size_t vector_end = n - n % width<T>;
    std::size_t i = 0;
    for (; i < vector_end; i += width<T>)
        store(out + i, f(load(in + i)...));
    if (i < n) store_partial(out + i, f(load_partial(in + i, n - i)...), n - i);
}

// out[i] = a[i] + b[i] (out may be a or b)
template <class T>
inline void add(std::size_t n, const T* a, const T* b, T* out) noexcept {
    const std::size_t vector_end = n - n % width<T>;
    std::size_t i = 0;
    for (; i < vector_end; i += width<T>)
        (vec<T>::load_unaligned(a + i) + vec<T>::load_unaligned(b + i)).store_unaligned(out + i);
    for (; i < n; ++i)
        out[i] = a[i] + b[i];
}

// y[i] += a * x[i]
template <class T>
inline void axpy(std::size_t n, T a, const T* x, T* y) noexcept {
    const vec<T> va(a);
    const std::size_t vector_end = n - n % width<T>;
    std::size_t i = 0;
    for (; i < vector_end; i += width<T>) {
        const auto vy =
            xsimd::fma(va, vec<T>::load_unaligned(x + i), vec<T>::load_unaligned(y + i));
        vy.store_unaligned(y + i);
    }
    for (; i < n; ++i)
        y[i] += a * x[i];
}

// y[i] = a * x[i]
template <class T>
inline void scale_into(std::size_t n, T a, const T* x, T* y) noexcept {
    const vec<T> va(a);
    const std::size_t vector_end = n - n % width<T>;
    std::size_t i = 0;
    for (; i < vector_end; i += width<T>)
        (va * vec<T>::load_unaligned(x + i)).store_unaligned(y + i);
    for (; i < n; ++i)
        y[i] = a * x[i];
}

// sum of x[i] * y[i]
template <class T>
inline T dot(std::size_t n, const T* x, const T* y) noexcept {
    vec<T> acc(T{0});
    const std::size_t vector_end = n - n % width<T>;
    std::size_t i = 0;
    for (; i < vector_end; i += width<T>)
        acc = xsimd::fma(vec<T>::load_unaligned(x + i), vec<T>::load_unaligned(y + i), acc);
    T sum = reduce_add(acc);
    for (; i < n; ++i)
        sum += x[i] * y[i];
    return sum;
}

// The sum of x[i]^2, in double (a gradient's global norm). Squares are summed in
// four registers of T a block at a time, and the blocks' sums added in double, so
// a million floats lose no more than a few thousand would. A block whose squares
// overflow T (a float gradient above 1.8e19 is finite, its square is not) is
// summed again in double, so the sum is infinite only when it is in double.
template <class T>
inline double sum_of_squares(std::size_t n, const T* x) noexcept {
    constexpr std::size_t W = width<T>;
    constexpr std::size_t block = 256 * W;
    double total = 0;
    std::size_t i = 0;
    for (; i + 4 * W <= n;) {
        const std::size_t first = i;
        const std::size_t end = std::min(n - (n - i) % (4 * W), i + block);
        vec<T> a0(T{0}), a1(T{0}), a2(T{0}), a3(T{0});
        for (; i < end; i += 4 * W) {
            const vec<T> v0 = load(x + i), v1 = load(x + i + W), v2 = load(x + i + 2 * W),
                         v3 = load(x + i + 3 * W);
            a0 = xsimd::fma(v0, v0, a0);
            a1 = xsimd::fma(v1, v1, a1);
            a2 = xsimd::fma(v2, v2, a2);
            a3 = xsimd::fma(v3, v3, a3);
        }
        const double sum = static_cast<double>(reduce_add((a0 + a1) + (a2 + a3)));
        if (sum <= static_cast<double>(std::numeric_limits<T>::max())) [[likely]] {
            total += sum;
        } else { // overflowed T (or a NaN): again in double
            for (std::size_t k = first; k < end; ++k)
                total += static_cast<double>(x[k]) * static_cast<double>(x[k]);
        }
    }
    for (; i < n; ++i)
        total += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    return total;
}

} // namespace kiln::simd
