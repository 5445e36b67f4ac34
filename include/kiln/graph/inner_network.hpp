#pragma once
// kiln::inner_network: a list of layer specs bound in order inside a composite
// layer (residual, repeat), the way sequential binds a whole network, with the same
// fusion rules between neighbours. Its parameters are one part of the composite's
// slice (each inner layer at a compile-time offset); everything it keeps between
// forward and backward (each inner output, each inner layer's own state, and two
// gradient buffers) is one part of the composite's slot in the workspace, laid
// out per example so that batch-major slots start at batch * offset.
#include "kiln/core/aligned_buffer.hpp"
#include "kiln/core/rng.hpp"
#include "kiln/graph/layer_calls.hpp"
#include "kiln/graph/sequential.hpp"
#include "kiln/optim/gradient_sink.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <utility>

namespace kiln {

// "layer_norm, linear<256>": the specs' names, for a composite's name.
template <class... Specs>
std::string spec_names() {
    std::string text;
    ((text += (text.empty() ? "" : ", ") + Specs::name()), ...);
    return text;
}

template <class In, std::size_t Position, class List>
struct inner_network;

template <class In, std::size_t Position, class... Specs>
struct inner_network<In, Position, type_list<Specs...>> {
    static constexpr std::size_t count = sizeof...(Specs);
    using chain = detail::bind_chain<true, In, Position, no_layer, Specs...>;
    using layers = typename chain::layers;
    using out_shape = typename chain::out_shape;
    template <std::size_t K>
    using layer_t = type_at<K, layers>;

private:
    template <class F>
    static constexpr auto over_layers(F f) {
        return [&]<std::size_t... K>(std::index_sequence<K...>) {
            return f(std::type_identity<layer_t<K>>{}...);
        }
        (std::make_index_sequence<count>{});
    }

public:
    // The first rule an inner layer breaks; the enclosing network reports it.
    using broken_rule = typename chain::broken_rule;
    static constexpr bool valid = broken_rule::holds;
    static constexpr std::size_t param_count = over_layers(
        [](auto... l) { return (std::size_t{0} + ... + decltype(l)::type::param_count); });

    // param_offsets[K]: layer K's part of the slice; param_offsets[count]: the whole.
    static constexpr std::array<std::size_t, count + 1> param_offsets = over_layers([](auto... l) {
        std::array<std::size_t, count + 1> result{};
        std::size_t k = 0;
        ((result[k + 1] = result[k] + decltype(l)::type::storage_size, ++k), ...);
        return result;
    });
    static constexpr std::size_t storage_size = param_offsets[count];

    // Position K's output (0 = the input, K + 1 = layer K's) is in position owner[K]'s slot.
    static constexpr std::array<std::size_t, count + 1> owner = over_layers([](auto... l) {
        std::array<std::size_t, count + 1> result{};
        std::size_t k = 0;
        ((result[k + 1] = decltype(l)::type::is_view ? result[k] : k + 1, ++k), ...);
        return result;
    });

    // Per-example offsets, within the saved slot, of each output, each layer's
    // state and the two gradient buffers.
    struct saved_layout {
        std::array<std::size_t, count + 1> activation{};
        std::array<std::size_t, count> state{};
        std::array<std::size_t, 2> gradient{};
        std::size_t total = 0;
    };
    static constexpr saved_layout layout = over_layers([](auto... l) {
        constexpr std::array<std::size_t, count + 1> sizes{In::size,
                                                           decltype(l)::type::out_shape::size...};
        constexpr std::array<std::size_t, count> states{
            saved_per_example_of<typename decltype(l)::type>...};
        saved_layout result;
        std::size_t offset = 0;
        for (std::size_t k = 1; k <= count; ++k)
            if (owner[k] == k) {
                result.activation[k] = offset;
                offset += padded_count(sizes[k]);
            }
        for (std::size_t k = 0; k < count; ++k) {
            result.state[k] = offset;
            offset += padded_count(states[k]);
        }
        const std::size_t widest = padded_count(*std::max_element(sizes.begin(), sizes.end()));
        result.gradient = {offset, offset + widest};
        result.total = offset + 2 * widest;
        return result;
    });
    static constexpr std::size_t saved_per_example = layout.total;

    template <class T, class Scheme>
    static void initialize(T* params, rng& random, const Scheme& scheme) {
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            (layer_t<K>::initialize(params + param_offsets[K], random, scheme), ...);
        }
        (std::make_index_sequence<count>{});
    }

    // Runs every inner layer; returns where the last output is.
    template <class T>
    static const T* forward(const T* params, const T* x, T* saved, std::size_t batch) noexcept {
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            (forward_layer<layer_t<K>>(params + param_offsets[K], output(saved, x, K, batch),
                                       output(saved, x, K + 1, batch),
                                       saved + batch * layout.state[K], batch),
             ...);
        }
        (std::make_index_sequence<count>{});
        return output(saved, x, count, batch);
    }

    // Back-propagates dy (d loss / d the last output) from the last layer to the
    // first; writes d loss / d input to dx unless it is null. Layer K's parameter
    // gradients go to the sink at param_offsets[K].
    template <class T, class Sink>
    static void backward(const T* params, T* scratch, const T* x, T* saved, const T* dy, T* dx,
                         std::size_t batch, Sink& sink) noexcept {
        T* const buffers[2] = {saved + batch * layout.gradient[0],
                               saved + batch * layout.gradient[1]};
        const T* current = dy;
        auto step = [&]<std::size_t K>(std::integral_constant<std::size_t, K>) {
            using layer_type = layer_t<K>;
            if constexpr (layer_type::passes_gradient) {
                if (K == 0 && dx != nullptr)
                    std::copy_n(current, batch * layer_type::in_shape::size, dx);
            } else {
                T* const into = K == 0 ? dx : current == buffers[0] ? buffers[1] : buffers[0];
                auto part = sink.shifted(param_offsets[K]);
                backward_layer<layer_type>(
                    params + param_offsets[K], scratch + param_offsets[K],
                    output(saved, x, K, batch), output(saved, x, K + 1, batch),
                    saved + batch * layout.state[K], current, into, batch, part);
                current = into;
            }
        };
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            (step(std::integral_constant<std::size_t, count - 1 - K>{}), ...);
        }
        (std::make_index_sequence<count>{});
    }

    // Where forward left the last output (x itself when every layer is a view).
    template <class T>
    static const T* result(T* saved, const T* x, std::size_t batch) noexcept {
        return output(saved, x, count, batch);
    }

private:
    template <class T>
    static T* output(T* saved, const T* x, std::size_t position, std::size_t batch) noexcept {
        const std::size_t slot = owner[position];
        return slot == 0 ? const_cast<T*>(x) : saved + batch * layout.activation[slot];
    }
};

// What a composite layer (residual, repeat) states about itself: everything but
// its rules, out_shape and passes, which come from its Inner network.
template <class Spec, class In, std::size_t Position, class Inner>
struct composite_layer {
    using inner = Inner;
    using spec = Spec;
    using in_shape = In;
    static constexpr std::size_t position = Position;
    static constexpr std::size_t param_count = Inner::param_count;
    static constexpr std::size_t storage_size = Inner::storage_size;
    static constexpr bool is_view = false;
    static constexpr bool passes_gradient = false;
    static constexpr std::size_t flops_per_example = 0; // counted by the inner layers
    static constexpr std::size_t saved_per_example = Inner::saved_per_example;

    template <class T, class Scheme>
    static void initialize(T* params, rng& random, const Scheme& scheme) {
        Inner::initialize(params, random, scheme);
    }
};

} // namespace kiln
