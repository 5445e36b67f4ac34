#pragma once
// The only file that talks to xsimd. Everything else uses these few loops, so a
// newer xsimd (whose names differ from Debian 12's 8.1) needs changes here alone.
#include <xsimd/xsimd.hpp>

#include <cstddef>

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

// y[i] = max(x[i], 0)
template <class T>
inline void relu(std::size_t n, const T* x, T* y) noexcept {
    const vec<T> zero(T{0});
    const std::size_t vector_end = n - n % width<T>;
    std::size_t i = 0;
    for (; i < vector_end; i += width<T>) {
        // select, not xsimd::max: g++ 12's AVX-512 max intrinsic warns spuriously.
        const auto v = vec<T>::load_unaligned(x + i);
        xsimd::select(v > zero, v, zero).store_unaligned(y + i);
    }
    for (; i < n; ++i)
        y[i] = x[i] > T{0} ? x[i] : T{0};
}

// dx[i] = y[i] > 0 ? dy[i] : 0, with y the relu's output
template <class T>
inline void relu_backward(std::size_t n, const T* y, const T* dy, T* dx) noexcept {
    const vec<T> zero(T{0});
    const std::size_t vector_end = n - n % width<T>;
    std::size_t i = 0;
    for (; i < vector_end; i += width<T>) {
        const auto positive = vec<T>::load_unaligned(y + i) > zero;
        xsimd::select(positive, vec<T>::load_unaligned(dy + i), zero).store_unaligned(dx + i);
    }
    for (; i < n; ++i)
        dx[i] = y[i] > T{0} ? dy[i] : T{0};
}

} // namespace kiln::simd
