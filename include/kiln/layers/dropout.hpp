#pragma once
// kiln::dropout<Rate>: inverted dropout, as PyTorch's nn.Dropout(p=Rate). In
// training each entry is zeroed with probability Rate and the others scaled by
// 1 / (1 - Rate), so evaluation is the identity. The rate is part of the type
// (kiln::dropout<0.5>); a rate outside [0, 1) is refused at compile time (1 would
// zero everything and scale by infinity).
//
// The mask is counter based: whether an entry is kept is a hash of the
// trainer's seed, the step count, the layer's position and the entry's place in
// the whole mini-batch (layers/layer.hpp's pass_mode), not a draw from a
// generator, so it does not depend on how many cores split a step or which core
// runs which part, and backward recomputes it instead of storing it. A run resumed
// at its step count draws the masks it would have drawn.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/names.hpp"
#include "kiln/core/real_constant.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/layers/layer.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln {

namespace error {
template <class Layer>
struct dropout_rate_outside_0_to_1 {
    static void report() {
        static_assert(facts_of_the_error<Layer>,
                      "kiln: dropout's rate (the number in the type of 'Layer') is not in "
                      "[0, 1): it is the probability of zeroing an entry, and at 1 nothing "
                      "would be kept. Fix: write a rate such as kiln::dropout<0.5> (PyTorch's "
                      "default), or leave the layer out.");
    }
};
} // namespace error

namespace detail {
// SplitMix64's finalizer: every bit of the result depends on every bit of z.
constexpr std::uint64_t mix_bits(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// One pass's mask: entry `index` of the whole mini-batch (example x its size +
// place in it) is kept when its hash is at least the threshold, Rate x 2^64.
struct dropout_mask {
    std::uint64_t key;
    std::uint64_t threshold;
    constexpr dropout_mask(const pass_mode& mode, std::size_t position,
                           std::uint64_t threshold_) noexcept
        : key(mix_bits(mode.seed ^ mix_bits(mode.step ^ mix_bits(position)))),
          threshold(threshold_) {}
    constexpr bool keeps(std::uint64_t index) const noexcept {
        return mix_bits(key + 0x9e3779b97f4a7c15ULL * (index + 1)) >= threshold;
    }
};
} // namespace detail

template <real_constant Rate = 0.5>
struct dropout {
    static constexpr double rate = Rate.value();
    static std::string name() { return with_number("dropout<", rate, ">"); }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : parameterless_layer<dropout, In, In, Position> {
        static constexpr bool valid = rate >= 0 && rate < 1;
        using broken_rule =
            first_broken<rule<valid, error::dropout_rate_outside_0_to_1<layer<Position, dropout>>>>;
        static constexpr bool reads_mode = true;
        static constexpr std::size_t flops_per_example = In::size;

        // Rate x 2^64, below 2^64 since rate < 1 (as a double, 1 - 2^-53 at most).
        static constexpr std::uint64_t threshold =
            valid ? static_cast<std::uint64_t>(rate * 18446744073709551616.0) : 0;

        // y = x kept / (1 - rate), or x in evaluation; each part takes whole examples.
        template <class T>
        static void forward(const T*, const T* x, T* y, std::size_t batch, work_share share,
                            const pass_mode& mode) noexcept {
            masked(x, y, batch, share, mode);
        }
        // The same mask and scale on the gradient.
        template <class T>
        static void backward_input(const T*, const T*, const T*, const T* dy, T* dx,
                                   std::size_t batch, work_share share,
                                   const pass_mode& mode) noexcept {
            masked(dy, dx, batch, share, mode);
        }

    private:
        template <class T>
        static void masked(const T* in, T* out, std::size_t batch, work_share share,
                           const pass_mode& mode) noexcept {
            const auto part = share.rows(batch);
            const std::size_t begin = part.begin * In::size, end = part.end * In::size;
            if (!mode.training || threshold == 0) {
                std::copy(in + begin, in + end, out + begin);
                return;
            }
            const detail::dropout_mask mask(mode, Position, threshold);
            const T scale = static_cast<T>(1.0 / (1.0 - rate));
            const std::uint64_t first = std::uint64_t{mode.first_example} * In::size;
            for (std::size_t i = begin; i < end; ++i)
                out[i] = mask.keeps(first + i) ? in[i] * scale : T{0};
        }
    };
};

} // namespace kiln
