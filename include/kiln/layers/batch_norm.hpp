#pragma once
// kiln::batch_norm<Momentum, Eps>: each channel normalized over the mini-batch,
// then scaled by gamma and shifted by beta, as PyTorch's BatchNorm1d (a vector's
// features; a (length, channels) sequence's channels) and BatchNorm2d (an image's
// channels: kiln's images are channels-last, so the last axis). The channels are
// the input's last axis; a channel's statistics are over every example and place.
//
// Training normalizes by the batch's mean and biased variance and moves the
// running mean and variance towards the batch's (the unbiased variance, as PyTorch)
// by Momentum; evaluation normalizes by the running ones. PyTorch's defaults,
// momentum 0.1 and eps 1e-5, are the type's. The running statistics are model
// state: they sit in the layer's slice after gamma and beta (so checkpoints and
// the parameter table carry them, as PyTorch's running_mean and running_var) but
// no gradient reaches them, and `trained_size` tells the trainer's flat updates to
// leave them alone.
//
// The layer needs the whole mini-batch, so a trainer never splits a step by
// examples for a network that has it. It sums over the batch the way the layer
// contract offers (layers/layer.hpp, sums_per_example): a pass takes each
// example's sums (of x and x squared forward; of dy and dy x backward) into its
// slot, and the pass after adds the slots in example order and normalizes, or
// makes dx, in rows. Both passes split between cores and their results do not
// depend on the split; backward takes the batch's mean and variance from
// forward's slots.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/init.hpp"
#include "kiln/core/names.hpp"
#include "kiln/core/real_constant.hpp"
#include "kiln/core/rng.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/graph/layer_view.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/kernels/simd.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/optim/gradient_sink.hpp"

#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <type_traits>

namespace kiln {

namespace error {
template <class Layer>
struct batch_norm_momentum_or_eps_out_of_range {
    static void report() {
        static_assert(facts_of_the_error<Layer>,
                      "kiln: batch_norm's momentum (its first number, in the type of 'Layer') "
                      "must be in [0, 1] and its eps (the second) above 0. Fix: write "
                      "kiln::batch_norm<> (PyTorch's momentum 0.1 and eps 1e-5), or e.g. "
                      "kiln::batch_norm<0.01, 1e-3>.");
    }
};
} // namespace error

template <real_constant Momentum = 0.1, real_constant Eps = 1e-5>
struct batch_norm {
    static constexpr double momentum = Momentum.value();
    static constexpr double eps = Eps.value();
    // Lowering (graph/lowering.hpp): an activation after it is applied as the
    // normalized output is stored.
    static constexpr bool has_activation_epilogue = true;
    static std::string name() {
        return with_number("batch_norm<", momentum, with_number(", ", eps, ">"));
    }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : layer_base<batch_norm, In, In, Position> {
        static constexpr bool valid = momentum >= 0 && momentum <= 1 && eps > 0;
        using broken_rule = first_broken<rule<
            valid, error::batch_norm_momentum_or_eps_out_of_range<layer<Position, batch_norm>>>>;
        static constexpr bool reads_mode = true;
        static constexpr bool needs_whole_batch = true;
        static constexpr bool input_pass_writes_scratch = true;

        static constexpr std::size_t channels = last_dim<In>;
        static constexpr std::size_t places = In::size / channels; // per example and channel
        // Per example, four sums per channel in double (channel_sums).
        static constexpr std::size_t sums_per_example = 8 * channels;
        static constexpr std::size_t part = padded_count(channels);
        static constexpr std::size_t beta_offset = part;
        static constexpr std::size_t mean_offset = 2 * part;
        static constexpr std::size_t variance_offset = 3 * part;
        static constexpr std::size_t param_count = 2 * channels; // PyTorch counts no buffers
        static constexpr std::size_t trained_size = 2 * part;
        static constexpr std::size_t storage_size = 4 * part;
        // Per value: its sums, its normalization.
        static constexpr std::size_t flops_per_example = 8 * In::size;
        using applied = applied_activation<batch_norm, Next>;
        static constexpr std::array parameter_parts{
            parameter_part{"weight", 0, {channels}},
            parameter_part{"bias", beta_offset, {channels}},
            parameter_part{"running_mean", mean_offset, {channels}},
            parameter_part{"running_var", variance_offset, {channels}}};

        // PyTorch's gamma = 1, beta = 0, running mean 0 and variance 1; init::normal
        // perturbs gamma and beta (gradient checks need a gamma that is not all ones).
        template <class T, class Scheme>
        static void initialize(T* params, rng& random, const Scheme& scheme) {
            for (std::size_t c = 0; c < channels; ++c) {
                params[c] = T{1};
                params[beta_offset + c] = T{0};
                params[mean_offset + c] = T{0};
                params[variance_offset + c] = T{1};
            }
            if constexpr (std::is_same_v<Scheme, init::normal>)
                for (std::size_t c = 0; c < channels; ++c) {
                    params[c] += static_cast<T>(random.normal(scheme.mean, scheme.stddev));
                    params[beta_offset + c] =
                        static_cast<T>(random.normal(scheme.mean, scheme.stddev));
                }
        }

        // Each example's sums, in the slots the runner keeps (layers/layer.hpp): of
        // x and x squared in training; evaluation normalizes by the running statistics.
        template <class T>
        static void forward_sums(const T*, const T* x, T* sums, std::size_t batch, work_share share,
                                 const pass_mode& mode) noexcept {
            if (!mode.training) return;
            const auto mine = share.rows(batch);
            for (std::size_t n = mine.begin; n < mine.end; ++n) {
                channel_sums example(x);
                example.add(x + n * In::size, places);
                example.store(sums, n, channel_sums::of_x);
            }
        }

        // A training pass writes the running statistics: it runs on a model the
        // trainer holds as one that changes (graph/propagate.hpp's forward with a mode).
        template <class T>
        static void forward(const T* params, const T* x, T* y, const T* sums, std::size_t batch,
                            work_share share, const pass_mode& mode) noexcept {
            const std::size_t rows = batch * places;
            channel_statistics<T> stats;
            if (mode.training) {
                channel_sums total(x);
                total.add_examples(sums, batch, channel_sums::of_x);
                stats.of_batch(total, rows);
                if (share.index == 0) update_running(const_cast<T*>(params), stats, total, rows);
            } else {
                stats.of_running(params);
            }
            alignas(64) T scale[channels];
            const T* const gamma = params;
            const T* const beta = params + beta_offset;
            for (std::size_t c = 0; c < channels; ++c)
                scale[c] = gamma[c] * stats.inverse_std[c];
            const auto mine = share.rows(rows);
            for (std::size_t r = mine.begin; r < mine.end; ++r)
                simd::map(
                    channels, y + r * channels,
                    [](const auto& v, const auto& mean, const auto& s, const auto& shift) {
                        return applied::apply((v - mean) * s + shift);
                    },
                    x + r * channels, stats.mean, scale, beta);
        }

        // Each example's sums of dy and dy x, beside forward's of x.
        template <class T>
        static void backward_sums(const T*, const T* x, const T* dy, T* sums, std::size_t batch,
                                  work_share share, const pass_mode&) noexcept {
            const auto mine = share.rows(batch);
            for (std::size_t n = mine.begin; n < mine.end; ++n) {
                channel_sums example(x);
                example.add_gradient(x + n * In::size, dy + n * In::size, places);
                example.store(sums, n, channel_sums::of_gradient);
            }
        }

        // In training, with x-hat the normalized input and n the values per channel:
        //   dx = gamma inverse_std / n (n dy - sum dy - x-hat sum dy x-hat);
        // in evaluation the statistics are constants: dx = gamma inverse_std dy.
        // Both are dx = a dy + b (x - mean) + c per channel, one pass after the sums'.
        // The sums are the parameters' gradients too (dgamma = sum dy x-hat, dbeta =
        // sum dy): they stay in scratch for backward_params.
        template <class T>
        static void backward_input(const T* params, T* scratch, const T* x, const T*, const T* dy,
                                   T* dx, const T* sums, std::size_t batch, work_share share,
                                   const pass_mode& mode) noexcept {
            const std::size_t rows = batch * places;
            channel_sums total(x);
            channel_statistics<T> stats;
            if (mode.training) {
                total.add_examples(sums, batch, channel_sums::of_x);
                stats.of_batch(total, rows);
            } else {
                stats.of_running(params);
            }
            total.add_examples(sums, batch, channel_sums::of_gradient);
            alignas(64) T dy_sum[channels], dy_x_hat_sum[channels];
            for (std::size_t c = 0; c < channels; ++c) {
                // sum dy (x - mean), from sums of x less the shift.
                const double centred_mean = static_cast<double>(stats.mean[c]) - total.shift[c];
                dy_sum[c] = static_cast<T>(total.dy[c]);
                dy_x_hat_sum[c] = static_cast<T>((total.dy_x[c] - centred_mean * total.dy[c]) *
                                                 static_cast<double>(stats.inverse_std[c]));
            }
            if (share.index == 0) {
                std::copy_n(dy_x_hat_sum, channels, scratch);
                std::copy_n(dy_sum, channels, scratch + beta_offset);
            }
            if (dx == nullptr) return;
            alignas(64) T a[channels], b[channels], c0[channels];
            const T n = T(rows);
            for (std::size_t c = 0; c < channels; ++c) {
                a[c] = params[c] * stats.inverse_std[c];
                b[c] = mode.training ? -a[c] * stats.inverse_std[c] * dy_x_hat_sum[c] / n : T{0};
                c0[c] = mode.training ? -a[c] * dy_sum[c] / n : T{0};
            }
            const auto mine = share.rows(rows);
            for (std::size_t r = mine.begin; r < mine.end; ++r)
                simd::map(
                    channels, dx + r * channels,
                    [](const auto& v, const auto& d, const auto& mean, const auto& ka,
                       const auto& kb, const auto& kc) { return ka * d + kb * (v - mean) + kc; },
                    x + r * channels, dy + r * channels, stats.mean, a, b, c0);
        }

        // Hands over dgamma and dbeta, which backward_input left in scratch.
        template <class T, class Sink>
        static void backward_params(const T*, T* scratch, const T*, const T*, const T*, std::size_t,
                                    Sink& sink, work_share share, const pass_mode&) noexcept {
            const channel_range mine = channels_of(share);
            if (mine.begin == mine.end) return;
            hand_over(sink, mine.begin, scratch + mine.begin, mine.end - mine.begin);
            hand_over(sink, beta_offset + mine.begin, scratch + beta_offset + mine.begin,
                      mine.end - mine.begin);
        }

    private:
        using channel_range = work_share::range;

        // Whole cache lines of channels per part.
        static channel_range channels_of(work_share share) noexcept {
            return share.rows(channels, 16);
        }

        // Per channel, sums over rows of x, of x squared, of dy and of dy x. They are
        // taken of x less the batch's first value in the channel, in double, so that
        // the variance (and dy's sum against the mean) does not lose its digits to a
        // mean far from zero, and one pass serves where two would. Each example's go
        // to its slot of the runner's sums (in two halves: x's, then dy's), which the
        // passes after add in example order.
        struct channel_sums {
            alignas(64) double shift[channels], x[channels], xx[channels], dy[channels],
                dy_x[channels];
            enum half : std::size_t { of_x = 0, of_gradient = 2 };

            template <class T>
            explicit channel_sums(const T* first_row) noexcept {
                for (std::size_t c = 0; c < channels; ++c) {
                    shift[c] = static_cast<double>(first_row[c]);
                    x[c] = xx[c] = dy[c] = dy_x[c] = 0.0;
                }
            }
            template <class T>
            void add(const T* values, std::size_t rows) noexcept {
                for (std::size_t r = 0; r < rows; ++r) {
                    const T* const v = values + r * channels;
                    for (std::size_t c = 0; c < channels; ++c) {
                        const double centred = static_cast<double>(v[c]) - shift[c];
                        x[c] += centred;
                        xx[c] += centred * centred;
                    }
                }
            }
            template <class T>
            void add_gradient(const T* values, const T* gradient, std::size_t rows) noexcept {
                for (std::size_t r = 0; r < rows; ++r) {
                    const T* const v = values + r * channels;
                    const T* const d = gradient + r * channels;
                    for (std::size_t c = 0; c < channels; ++c) {
                        const double centred = static_cast<double>(v[c]) - shift[c];
                        dy[c] += static_cast<double>(d[c]);
                        dy_x[c] += static_cast<double>(d[c]) * centred;
                    }
                }
            }
            // Into example n's slot (copied as bytes: the slots are scalars of the network's type).
            template <class T>
            void store(T* sums, std::size_t n, half which) const noexcept {
                std::byte* const to = slot(sums, n) + which * sizeof(x);
                std::memcpy(to, which == of_x ? x : dy, sizeof(x));
                std::memcpy(to + sizeof(x), which == of_x ? xx : dy_x, sizeof(x));
            }
            // Every example's slot, in order.
            template <class T>
            void add_examples(const T* sums, std::size_t batch, half which) noexcept {
                double* const first = which == of_x ? x : dy;
                double* const second = which == of_x ? xx : dy_x;
                alignas(64) double stored[2][channels];
                for (std::size_t n = 0; n < batch; ++n) {
                    std::memcpy(stored, slot(sums, n) + which * sizeof(x), sizeof(stored));
                    for (std::size_t c = 0; c < channels; ++c) {
                        first[c] += stored[0][c];
                        second[c] += stored[1][c];
                    }
                }
            }
            // The biased variance of the rows.
            double variance(std::size_t c, std::size_t rows) const noexcept {
                const double mean = x[c] / double(rows);
                const double spread = xx[c] / double(rows) - mean * mean;
                return spread > 0 ? spread : 0.0;
            }

        private:
            // Example n's slot, as bytes (const when sums is).
            template <class T>
            static auto* slot(T* sums, std::size_t n) noexcept {
                using byte = std::conditional_t<std::is_const_v<T>, const std::byte, std::byte>;
                return reinterpret_cast<byte*>(sums + n * sums_per_example);
            }
        };

        // The mean and 1 / sqrt(variance + eps) a pass normalizes by.
        template <class T>
        struct channel_statistics {
            alignas(64) T mean[channels], inverse_std[channels];

            void of_batch(const channel_sums& sums, std::size_t rows) noexcept {
                for (std::size_t c = 0; c < channels; ++c) {
                    mean[c] = static_cast<T>(sums.shift[c] + sums.x[c] / double(rows));
                    inverse_std[c] = static_cast<T>(1.0 / std::sqrt(sums.variance(c, rows) + eps));
                }
            }
            void of_running(const T* params) noexcept {
                for (std::size_t c = 0; c < channels; ++c) {
                    mean[c] = params[mean_offset + c];
                    inverse_std[c] = T{1} / std::sqrt(params[variance_offset + c] + T(eps));
                }
            }
        };

        // The running statistics move towards the batch's by the momentum (the
        // variance towards the unbiased one; a single value per channel has none).
        template <class T>
        static void update_running(T* params, const channel_statistics<T>& stats,
                                   const channel_sums& sums, std::size_t rows) noexcept {
            const double unbiased = rows > 1 ? double(rows) / double(rows - 1) : 1.0;
            const T keep = T(1 - momentum), take = T(momentum);
            for (std::size_t c = 0; c < channels; ++c) {
                params[mean_offset + c] = keep * params[mean_offset + c] + take * stats.mean[c];
                if (rows > 1)
                    params[variance_offset + c] =
                        keep * params[variance_offset + c] +
                        take * static_cast<T>(sums.variance(c, rows) * unbiased);
            }
        }
    };
};

} // namespace kiln
