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
// examples for a network that has it; its passes split by channels instead. It
// keeps nothing between forward and backward: backward recomputes the batch's
// mean and variance from the input (one more pass over it, in place of a saved
// slot the runner would have to give stateful layers, which run on one core).
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/init.hpp"
#include "kiln/core/names.hpp"
#include "kiln/core/real_constant.hpp"
#include "kiln/core/rng.hpp"
#include "kiln/core/shape.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/graph/layer_view.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/optim/gradient_sink.hpp"

#include <array>
#include <cmath>
#include <cstddef>
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

        static constexpr std::size_t channels = last_dim<In>;
        static constexpr std::size_t places = In::size / channels; // per example and channel
        static constexpr std::size_t part = padded_count(channels);
        static constexpr std::size_t beta_offset = part;
        static constexpr std::size_t mean_offset = 2 * part;
        static constexpr std::size_t variance_offset = 3 * part;
        static constexpr std::size_t param_count = 2 * channels; // PyTorch counts no buffers
        static constexpr std::size_t trained_size = 2 * part;
        static constexpr std::size_t storage_size = 4 * part;
        static constexpr std::size_t flops_per_example = 8 * In::size;
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

        // A training pass writes the running statistics: it runs on a model the
        // trainer holds as one that changes (graph/propagate.hpp's forward with a mode).
        template <class T>
        static void forward(const T* params, const T* x, T* y, std::size_t batch, work_share share,
                            const pass_mode& mode) noexcept {
            const channel_range mine = channels_of(share);
            alignas(64) T mean[channels], inverse_std[channels];
            if (mode.training) {
                const std::size_t n = batch * places;
                alignas(64) T variance[channels];
                statistics(x, batch, mine, mean, variance, inverse_std);
                T* const running = const_cast<T*>(params);
                // The unbiased variance; a single value per channel has none to give.
                const T unbiased = n > 1 ? T(n) / T(n - 1) : T{1};
                const T keep = T(1 - momentum), take = T(momentum);
                for (std::size_t c = mine.begin; c < mine.end; ++c) {
                    running[mean_offset + c] = keep * running[mean_offset + c] + take * mean[c];
                    if (n > 1)
                        running[variance_offset + c] =
                            keep * running[variance_offset + c] + take * variance[c] * unbiased;
                }
            } else {
                running_statistics(params, mine, mean, inverse_std);
            }
            const T* const gamma = params;
            const T* const beta = params + beta_offset;
            for (std::size_t r = 0; r < batch * places; ++r) {
                const T* const v = x + r * channels;
                T* const out = y + r * channels;
                for (std::size_t c = mine.begin; c < mine.end; ++c)
                    out[c] = (v[c] - mean[c]) * inverse_std[c] * gamma[c] + beta[c];
            }
        }

        // In training, with x-hat the normalized input and n the values per channel:
        //   dx = gamma inverse_std / n (n dy - sum dy - x-hat sum dy x-hat);
        // in evaluation the statistics are constants: dx = gamma inverse_std dy.
        template <class T>
        static void backward_input(const T* params, const T* x, const T*, const T* dy, T* dx,
                                   std::size_t batch, work_share share,
                                   const pass_mode& mode) noexcept {
            const channel_range mine = channels_of(share);
            alignas(64) T mean[channels], inverse_std[channels], dy_sum[channels],
                dy_x_hat_sum[channels];
            sums(params, x, dy, batch, mine, mode, mean, inverse_std, dy_sum, dy_x_hat_sum);
            const T* const gamma = params;
            const T n = T(batch * places);
            for (std::size_t r = 0; r < batch * places; ++r) {
                const T* const v = x + r * channels;
                const T* const d = dy + r * channels;
                T* const out = dx + r * channels;
                for (std::size_t c = mine.begin; c < mine.end; ++c) {
                    const T scale = gamma[c] * inverse_std[c];
                    if (mode.training) {
                        const T x_hat = (v[c] - mean[c]) * inverse_std[c];
                        out[c] = scale / n * (n * d[c] - dy_sum[c] - x_hat * dy_x_hat_sum[c]);
                    } else {
                        out[c] = scale * d[c];
                    }
                }
            }
        }

        // dgamma = sum of dy x-hat, dbeta = sum of dy, per channel; each part hands
        // its own channels, each summed in one fixed order.
        template <class T, class Sink>
        static void backward_params(const T* params, T* scratch, const T* x, const T*, const T* dy,
                                    std::size_t batch, Sink& sink, work_share share,
                                    const pass_mode& mode) noexcept {
            const channel_range mine = channels_of(share);
            if (mine.begin == mine.end) return;
            alignas(64) T mean[channels], inverse_std[channels];
            T* const dgamma = scratch;
            T* const dbeta = scratch + beta_offset;
            sums(params, x, dy, batch, mine, mode, mean, inverse_std, dbeta, dgamma);
            hand_over(sink, mine.begin, dgamma + mine.begin, mine.end - mine.begin);
            hand_over(sink, beta_offset + mine.begin, dbeta + mine.begin, mine.end - mine.begin);
        }

    private:
        using channel_range = work_share::range;
        // Whole cache lines of channels per part.
        static channel_range channels_of(work_share share) noexcept {
            return share.rows(channels, 16);
        }

        // The batch's mean, biased variance and 1 / sqrt(variance + eps) of each channel.
        template <class T>
        static void statistics(const T* x, std::size_t batch, channel_range mine, T* mean,
                               T* variance, T* inverse_std) noexcept {
            const std::size_t n = batch * places;
            for (std::size_t c = mine.begin; c < mine.end; ++c)
                mean[c] = variance[c] = T{0};
            for (std::size_t r = 0; r < n; ++r)
                for (std::size_t c = mine.begin; c < mine.end; ++c)
                    mean[c] += x[r * channels + c];
            for (std::size_t c = mine.begin; c < mine.end; ++c)
                mean[c] /= T(n);
            for (std::size_t r = 0; r < n; ++r)
                for (std::size_t c = mine.begin; c < mine.end; ++c) {
                    const T deviation = x[r * channels + c] - mean[c];
                    variance[c] += deviation * deviation;
                }
            for (std::size_t c = mine.begin; c < mine.end; ++c) {
                variance[c] /= T(n);
                inverse_std[c] = T{1} / std::sqrt(variance[c] + T(eps));
            }
        }

        template <class T>
        static void running_statistics(const T* params, channel_range mine, T* mean,
                                       T* inverse_std) noexcept {
            for (std::size_t c = mine.begin; c < mine.end; ++c) {
                mean[c] = params[mean_offset + c];
                inverse_std[c] = T{1} / std::sqrt(params[variance_offset + c] + T(eps));
            }
        }

        // The statistics of the mode, and per channel the sums of dy and of dy x-hat.
        template <class T>
        static void sums(const T* params, const T* x, const T* dy, std::size_t batch,
                         channel_range mine, const pass_mode& mode, T* mean, T* inverse_std,
                         T* dy_sum, T* dy_x_hat_sum) noexcept {
            if (mode.training) {
                alignas(64) T variance[channels];
                statistics(x, batch, mine, mean, variance, inverse_std);
            } else {
                running_statistics(params, mine, mean, inverse_std);
            }
            for (std::size_t c = mine.begin; c < mine.end; ++c)
                dy_sum[c] = dy_x_hat_sum[c] = T{0};
            for (std::size_t r = 0; r < batch * places; ++r)
                for (std::size_t c = mine.begin; c < mine.end; ++c) {
                    const T d = dy[r * channels + c];
                    dy_sum[c] += d;
                    dy_x_hat_sum[c] += d * (x[r * channels + c] - mean[c]) * inverse_std[c];
                }
        }
    };
};

} // namespace kiln
