#pragma once
// kiln::conv1d<Filters, Kernel, Stride = 1, Padding = 0, Dilation = 1>: a 1-D
// convolution along the first axis of a sequence,
// y[t][f] = b[f] + sum_{k, c} x[t * Stride + k * Dilation - before][c] W[k][c][f],
// as PyTorch's nn.Conv1d(channels, Filters, Kernel, Stride, Padding, Dilation) on
// a length x channels example (channels last), inputs outside the sequence zero
// (layers/padding.hpp: a count of zeros on each side, or kiln::same). A rank-1
// example is a sequence of one channel. kiln::conv1d_no_bias drops b (the mini
// CNN of SEED.md B: a 2-tap filter over three inputs).
//
// Its users are tiny (three inputs), so the passes are plain loops over the
// filters, which are contiguous in W, y and dy (the compiler vectorizes them);
// taps that fall on padding are skipped, checked only where the layer pads. The
// weight gradient is summed in the layer's scratch and then handed to the sink
// register by register, like every other layer's.
#include "kiln/core/aligned_buffer.hpp"
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/names.hpp"
#include "kiln/core/thread_pool.hpp"
#include "kiln/layers/image.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/layers/linear.hpp"
#include "kiln/layers/padding.hpp"
#include "kiln/layers/weights_and_bias.hpp"
#include "kiln/optim/gradient_sink.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

namespace kiln {

// A filter's length, as diagnostics name it.
template <std::size_t Taps>
struct kernel_length {};

namespace error {
template <class Layer, class Got>
struct layer_needs_a_sequence {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got>,
                      "kiln: conv1d works on sequences (length, or length x channels), but it "
                      "receives shape 'Got'. Fix: flatten the example first, or view it as a "
                      "sequence with kiln::reshape<length, channels>.");
    }
};
template <class Layer, class Got, class Kernel>
struct kernel_longer_than_sequence {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, Kernel>,
                      "kiln: the conv1d filter ('Kernel' taps, spread by its dilation) is longer "
                      "than the sequence it slides over (shape 'Got', with the layer's padding), "
                      "so no output position fits. Fix: use a shorter filter or dilation, or pad "
                      "the sequence (kiln::conv1d<F, K, 1, kiln::same>).");
    }
};
template <class Layer, class Got, class ChannelsLast>
struct sequence_written_channels_first {
    static void report() {
        static_assert(facts_of_the_error<Layer, Got, ChannelsLast>,
                      "kiln: conv1d reads a sequence as length x channels (channels last), so "
                      "shape 'Got' is read as a sequence only as long as its first dimension: "
                      "it looks written channels first, as PyTorch's Conv1d takes it. Fix: write "
                      "it channels last, as 'ChannelsLast', with the data in that order.");
    }
};
} // namespace error

// Whether a sequence the filter does not fit looks written channels first
// (channels x length, as PyTorch's Conv1d takes it): a few channels (at most 4)
// first, and a filter that would fit the sequence written channels last. (Unlike
// an image, a short sequence of many channels is plausible, so a filter that
// fits is never questioned.)
template <class Shape, std::size_t Kernel>
struct sequence_channels_first {
    static constexpr bool likely = false;
    using channels_last = Shape;
};
template <std::size_t C, std::size_t L, std::size_t Kernel>
struct sequence_channels_first<shape<C, L>, Kernel> {
    static constexpr bool likely = C <= 4 && C < L && Kernel > C&& Kernel <= L;
    using channels_last = shape<L, C>;
};

// A sequence's length and channels; is_sequence is false for any rank but 1 and 2.
template <class Shape>
struct sequence_dims {
    static constexpr bool is_sequence = false;
    static constexpr std::size_t length = 1, channels = 1;
};
template <std::size_t L>
struct sequence_dims<shape<L>> {
    static constexpr bool is_sequence = true;
    static constexpr std::size_t length = L, channels = 1;
};
template <std::size_t L, std::size_t C>
struct sequence_dims<shape<L, C>> {
    static constexpr bool is_sequence = true;
    static constexpr std::size_t length = L, channels = C;
};

template <std::size_t Filters, std::size_t Kernel, std::size_t Stride, padding Padding,
          std::size_t Dilation, bool HasBias, class Spec>
struct conv1d_layer {
    static constexpr bool has_bias = HasBias;
    static std::string name() {
        return convolution_name(has_bias ? "conv1d<" : "conv1d_no_bias<", Filters, Kernel, Stride,
                                Padding, Dilation);
    }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind {
        using spec = Spec;
        using in_shape = In;
        using dims = sequence_dims<In>;
        using axis = conv_axis<dims::length, Kernel, Stride, Padding, Dilation>;
        using here = layer<Position, Spec>;
        // The rules this layer states; the network reports the first broken one.
        using broken_rule = first_broken<
            rule<dims::is_sequence, error::layer_needs_a_sequence<here, In>>,
            rule<Filters != 0, error::layer_size_is_zero<here>>,
            rule<axis::sizes_nonzero, error::window_size_is_zero<here>>,
            rule<!Padding.is_same || Stride == 1, error::same_padding_needs_stride_one<here>>,
            rule<!sequence_channels_first<In, Kernel>::likely,
                 error::sequence_written_channels_first<
                     here, In, typename sequence_channels_first<In, Kernel>::channels_last>>,
            rule<axis::fits,
                 error::kernel_longer_than_sequence<here, In, kernel_length<axis::extent>>>>;
        static constexpr bool valid = broken_rule::holds;

        static constexpr std::size_t position = Position;
        static constexpr std::size_t channels = dims::channels;
        // After a reported mistake: one output position, so nothing after complains.
        static constexpr std::size_t out_length = valid ? axis::out : 1;
        using out_shape = shape<out_length, Filters>;

        // A patch (Kernel x channels contiguous inputs) times W ([patch entry][filter]).
        static constexpr std::size_t patch_size = Kernel * channels;
        static constexpr std::size_t weight_count = patch_size * Filters;
        static constexpr std::size_t bias_count = has_bias ? Filters : 0;
        static constexpr std::size_t param_count = weight_count + bias_count;
        static constexpr std::size_t bias_offset = padded_count(weight_count);
        static constexpr std::size_t storage_size = bias_offset + padded_count(bias_count);
        static constexpr bool is_view = false;
        static constexpr bool passes_gradient = false;
        static constexpr std::size_t flops_per_example = 2 * out_length * weight_count;

        static constexpr std::size_t weight_at(std::size_t k, std::size_t c, std::size_t f) {
            return (k * channels + c) * Filters + f;
        }
        static constexpr std::size_t bias_at(std::size_t f) { return bias_offset + f; }
        // PyTorch's [filter][channel][tap], stored [tap][channel][filter].
        static constexpr auto parameter_parts = [] {
            constexpr parameter_part weight{"weight", 0, {Filters, channels, Kernel}, {2, 1, 0}};
            if constexpr (bias_count != 0)
                return std::array{weight, parameter_part{"bias", bias_offset, {Filters}}};
            else
                return std::array{weight};
        }();

        // As linear and conv2d: fan_in = Kernel x channels, fan_out = Kernel x Filters.
        template <class T, class Scheme>
        static void initialize(T* params, rng& random, const Scheme& scheme) {
            weights_and_bias::initialize(params, weight_count, params + bias_offset, bias_count,
                                         patch_size, Kernel * Filters, random, scheme);
        }

    private:
        // f(k, first input of tap k) for the taps of output position t that fall
        // inside the sequence, in order.
        template <class F>
        static void for_taps(std::size_t t, F&& f) {
            for (std::size_t k = 0; k < Kernel; ++k)
                if (!axis::reads_padding || axis::tap_inside(t, k))
                    f(k, axis::tap_at(t, k) * channels);
        }

    public:
        // y[t] = b + patch(t) W, for this share's examples.
        template <class T>
        static void forward(const T* params, const T* x, T* y, std::size_t batch,
                            work_share share = {}) noexcept {
            const auto examples = share.rows(batch);
            for (std::size_t b = examples.begin; b < examples.end; ++b)
                for (std::size_t t = 0; t < out_length; ++t) {
                    T* const out = y + (b * out_length + t) * Filters;
                    for (std::size_t f = 0; f < Filters; ++f) {
                        if constexpr (has_bias)
                            out[f] = params[bias_offset + f];
                        else
                            out[f] = T{0};
                    }
                    for_taps(t, [&](std::size_t k, std::size_t from) {
                        const T* const tap = x + b * In::size + from;
                        const T* const w = params + k * channels * Filters;
                        for (std::size_t c = 0; c < channels; ++c)
                            for (std::size_t f = 0; f < Filters; ++f)
                                out[f] += tap[c] * w[c * Filters + f];
                    });
                }
        }

        // dx[t * Stride + k * Dilation - before][c] += W[k][c] . dy[t], over every
        // output position t and tap k inside the sequence.
        template <class T>
        static void backward_input(const T* params, const T*, const T*, const T* dy, T* dx,
                                   std::size_t batch, work_share share = {}) noexcept {
            const auto examples = share.rows(batch);
            for (std::size_t b = examples.begin; b < examples.end; ++b) {
                T* const grad = dx + b * In::size;
                std::fill_n(grad, In::size, T{0});
                for (std::size_t t = 0; t < out_length; ++t) {
                    const T* const g = dy + (b * out_length + t) * Filters;
                    for_taps(t, [&](std::size_t k, std::size_t to) {
                        const T* const w = params + k * channels * Filters;
                        for (std::size_t c = 0; c < channels; ++c) {
                            T sum = 0;
                            for (std::size_t f = 0; f < Filters; ++f)
                                sum += w[c * Filters + f] * g[f];
                            grad[to + c] += sum;
                        }
                    });
                }
            }
        }

        // dW[k][c] = sum over examples and positions of x[tap k][c] dy[t]; db = sum of dy.
        // The whole sum is one core's (share 0): these layers are far below the split.
        template <class T, class Sink>
        static void backward_params(const T*, T* scratch, const T* x, const T*, const T* dy,
                                    std::size_t batch, Sink& sink, work_share share = {}) noexcept {
            if (share.index != 0) return;
            std::fill_n(scratch, storage_size, T{0});
            for (std::size_t b = 0; b < batch; ++b)
                for (std::size_t t = 0; t < out_length; ++t) {
                    const T* const g = dy + (b * out_length + t) * Filters;
                    for_taps(t, [&](std::size_t k, std::size_t from) {
                        const T* const tap = x + b * In::size + from;
                        T* const dw = scratch + k * channels * Filters;
                        for (std::size_t c = 0; c < channels; ++c)
                            for (std::size_t f = 0; f < Filters; ++f)
                                dw[c * Filters + f] += tap[c] * g[f];
                    });
                    if constexpr (has_bias)
                        for (std::size_t f = 0; f < Filters; ++f)
                            scratch[bias_offset + f] += g[f];
                }
            hand_over(sink, 0, scratch, weight_count);
            if constexpr (has_bias) hand_over(sink, bias_offset, scratch + bias_offset, bias_count);
        }
    };
};

template <std::size_t Filters, std::size_t Kernel, std::size_t Stride = 1, padding Padding = 0,
          std::size_t Dilation = 1>
struct conv1d : conv1d_layer<Filters, Kernel, Stride, Padding, Dilation, true,
                             conv1d<Filters, Kernel, Stride, Padding, Dilation>> {};

template <std::size_t Filters, std::size_t Kernel, std::size_t Stride = 1, padding Padding = 0,
          std::size_t Dilation = 1>
struct conv1d_no_bias : conv1d_layer<Filters, Kernel, Stride, Padding, Dilation, false,
                                     conv1d_no_bias<Filters, Kernel, Stride, Padding, Dilation>> {};

} // namespace kiln
