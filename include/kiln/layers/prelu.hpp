#pragma once
// kiln::prelu<Slopes>: x where x > 0, else a x, with the slope a learned, like
// PyTorch's nn.PReLU(num_parameters=Slopes). kiln::prelu<> learns one slope for
// every entry; kiln::prelu<C> one per entry of the input's last axis: a vector's
// features, an image's channels (kiln's images are channels-last, so this is the
// axis PyTorch's PReLU takes on NCHW tensors, dim 1). On a sequence (length,
// features) the slopes go with the features, where PyTorch would take dim 1, the
// length. Slopes start at PyTorch's 0.25 (PyTorch's weight "weight", shape [C]).
//
// It has parameters, so it is a layer of its own, not an elementwise activation:
// nothing fuses into a linear's or conv2d's epilogue (a register tile would need
// the slopes of its columns, and the slopes' gradient needs the input kept).
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/init.hpp"
#include "kiln/core/names.hpp"
#include "kiln/core/rng.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/graph/layer_view.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/optim/gradient_sink.hpp"

#include <array>
#include <cstddef>
#include <string>
#include <type_traits>

namespace kiln {

namespace error {
template <class Layer, class Got>
struct prelu_slopes_match_no_axis {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got>,
                      "kiln: prelu<N> ('Layer') learns one slope, or one per entry of its "
                      "input's last axis (a vector's features, an image's channels), but its "
                      "input 'Got' does not end in N. Fix: write kiln::prelu<> for one shared "
                      "slope, or kiln::prelu<size of the input's last axis>.");
    }
};
} // namespace error

inline constexpr double prelu_initial_slope = 0.25; // PyTorch's nn.PReLU init

template <std::size_t Slopes = 1>
struct prelu {
    static constexpr std::size_t slopes = Slopes;
    static std::string name() { return bracketed("prelu<", {Slopes}, ">"); }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : parametric_layer<prelu, In, In, Position, Slopes> {
        using broken_rule =
            first_broken<rule<Slopes == 1 || Slopes == last_dim<In>,
                              error::prelu_slopes_match_no_axis<layer<Position, prelu>, In>>>;
        static constexpr bool valid = broken_rule::holds;
        static constexpr std::size_t flops_per_example = In::size;
        static constexpr std::array parameter_parts{parameter_part{"weight", 0, {Slopes}}};

        // PyTorch's 0.25 for every slope; init::normal perturbs it (gradient checks
        // need slopes that differ).
        template <class T, class Scheme>
        static void initialize(T* params, rng& random, const Scheme& scheme) {
            for (std::size_t c = 0; c < Slopes; ++c) {
                double slope = prelu_initial_slope;
                if constexpr (std::is_same_v<Scheme, init::normal>)
                    slope += random.normal(scheme.mean, scheme.stddev);
                params[c] = static_cast<T>(slope);
            }
        }

        template <class T>
        static void forward(const T* params, const T* x, T* y, std::size_t batch,
                            work_share share = {}) noexcept {
            each_run(
                params, batch, share, y,
                [](const auto& a, const auto& v) { return simd::positive_else(v, v, a * v); }, x);
        }

        template <class T>
        static void backward_input(const T* params, const T* x, const T*, const T* dy, T* dx,
                                   std::size_t batch, work_share share = {}) noexcept {
            each_run(
                params, batch, share, dx,
                [](const auto& a, const auto& v, const auto& g) {
                    return simd::positive_else(v, g, a * g);
                },
                x, dy);
        }

        // d slope = the sum of x dy over the entries it scales (x <= 0). Parts of a
        // split take whole slopes, each summed in a fixed order, so the result does
        // not depend on the split.
        template <class T, class Sink>
        static void backward_params(const T*, T* scratch, const T* x, const T*, const T* dy,
                                    std::size_t batch, Sink& sink, work_share share = {}) noexcept {
            using vec = simd::vec<T>;
            const auto negative_part = [](const vec& v, const vec& g) {
                return simd::positive_else(v, vec(T{0}), v * g);
            };
            if constexpr (Slopes == 1) {
                if (share.index != 0) return;
                const std::size_t n = batch * In::size;
                const std::size_t full = n - n % simd::width<T>;
                vec total(T{0});
                for (std::size_t i = 0; i < full; i += simd::width<T>)
                    total += negative_part(simd::load(x + i), simd::load(dy + i));
                if (full < n)
                    total += negative_part(simd::load_partial(x + full, n - full),
                                           simd::load_partial(dy + full, n - full));
                scratch[0] = simd::reduce_add(total);
                hand_over(sink, 0, scratch, 1);
            } else {
                const auto part = share.rows(Slopes, simd::width<T>);
                const std::size_t count = part.end - part.begin;
                if (count == 0) return;
                T* const sums = scratch + part.begin;
                for (std::size_t c = 0; c < count; ++c)
                    sums[c] = T{0};
                for (std::size_t r = 0; r < batch * In::size / Slopes; ++r) {
                    const std::size_t at = r * Slopes + part.begin;
                    simd::map(
                        count, sums,
                        [&](const vec& s, const vec& v, const vec& g) {
                            return s + negative_part(v, g);
                        },
                        sums, x + at, dy + at);
                }
                hand_over(sink, part.begin, sums, count);
            }
        }

    private:
        // out = f(slope, in...) over this part of the batch: with one slope, as one run
        // of every entry; with one per entry of the last axis, row by row against the
        // slopes.
        template <class T, class F, class... Inputs>
        static void each_run(const T* params, std::size_t batch, work_share share, T* out, F f,
                             const Inputs*... in) noexcept {
            if constexpr (Slopes == 1) {
                const auto part = share.rows(batch * In::size, simd::width<T>);
                const simd::vec<T> slope(params[0]);
                simd::map(
                    part.end - part.begin, out + part.begin,
                    [&](const auto&... v) { return f(slope, v...); }, (in + part.begin)...);
            } else {
                const auto part = share.rows(batch * In::size / Slopes);
                for (std::size_t r = part.begin; r < part.end; ++r)
                    simd::map(Slopes, out + r * Slopes, f, params, (in + r * Slopes)...);
            }
        }
    };
};

} // namespace kiln
