#pragma once
// kiln::embedding<Vocab, Width>: each token id becomes its row of a learned
// [Vocab][Width] table, like PyTorch's nn.Embedding. It reads the ids of
// kiln::tokens; backward sums, per row of the table, the gradients of the
// positions that looked it up (the ids themselves have no gradient).
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/init.hpp"
#include "kiln/core/names.hpp"
#include "kiln/graph/layer_view.hpp"
#include "kiln/graph/lowering.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/layers/linear.hpp"
#include "kiln/optim/gradient_sink.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>

namespace kiln {

// A table's entries drawn as the scheme says: N(mean, stddev) for init::normal;
// N(0, 1) for init::pytorch_default, as nn.Embedding draws them; Glorot uniform
// over the Rows x Width matrix for init::glorot_uniform.
template <class T, class Scheme>
void initialize_table(T* values, std::size_t rows, std::size_t width, rng& random,
                      const Scheme& scheme) {
    const std::size_t count = rows * width;
    if constexpr (std::is_same_v<Scheme, init::glorot_uniform>) {
        const double limit = std::sqrt(6.0 / static_cast<double>(rows + width));
        for (std::size_t i = 0; i < count; ++i)
            values[i] = static_cast<T>(random.uniform(-limit, limit));
        return;
    }
    double mean = 0, stddev = 1;
    if constexpr (std::is_same_v<Scheme, init::normal>) {
        mean = scheme.mean;
        stddev = scheme.stddev;
    }
    for (std::size_t i = 0; i < count; ++i)
        values[i] = static_cast<T>(random.normal(mean, stddev));
}

// What a learned table (embedding, add_position) states about itself: Rows x Width
// parameters (PyTorch's nn.Embedding weight), initialized by initialize_table,
// and nothing saved for backward.
template <class Spec, class In, class Out, std::size_t Position, std::size_t Rows,
          std::size_t Width>
struct table_layer : parametric_layer<Spec, In, Out, Position, Rows * Width> {
    static constexpr std::size_t saved_per_example = 0;
    static constexpr std::array parameter_parts{parameter_part{"weight", 0, {Rows, Width}}};

    template <class T, class Scheme>
    static void initialize(T* params, rng& random, const Scheme& scheme) {
        initialize_table(params, Rows, Width, random, scheme);
    }
};

template <std::size_t Vocab, std::size_t Width>
struct embedding {
    // Reads kiln::token_ids of this vocabulary, and nothing else (graph/sequential.hpp).
    static constexpr std::size_t vocabulary = Vocab;
    static constexpr bool looks_up_token_ids = true;
    static std::string name() { return bracketed("embedding<", {Vocab, Width}, ">"); }

    template <class In, std::size_t Position, class Previous = no_layer, class Next = no_layer>
    struct bind : table_layer<embedding, In, shape<In::dims[0], Width>, Position, Vocab, Width> {
        static constexpr std::size_t block = In::dims[0];
        static constexpr std::size_t param_count = Vocab * Width;
        // That In is token ids of this vocabulary, the network checks (graph/sequential.hpp).
        using broken_rule = first_broken<
            rule<Vocab != 0 && Width != 0, error::layer_size_is_zero<layer<Position, embedding>>>>;
        static constexpr bool valid = broken_rule::holds;

        template <class T>
        static void forward(const T* params, const T* x, T* y, T*, std::size_t batch) noexcept {
            for (std::size_t p = 0; p < batch * block; ++p)
                std::copy_n(params + id_at(x, p) * Width, Width, y + p * Width);
        }

        // The ids get a zero gradient; the table's rows sum what their positions got.
        template <class T, class Sink>
        static void backward(const T*, T* scratch, const T* x, const T*, T*, const T* dy, T* dx,
                             std::size_t batch, Sink& sink) noexcept {
            if (dx != nullptr) std::fill_n(dx, batch * block, T{0});
            std::fill_n(scratch, param_count, T{0});
            for (std::size_t p = 0; p < batch * block; ++p)
                simd::add(Width, scratch + id_at(x, p) * Width, dy + p * Width,
                          scratch + id_at(x, p) * Width);
            hand_over(sink, 0, scratch, param_count);
        }

    private:
        template <class T>
        static std::size_t id_at(const T* x, std::size_t p) noexcept {
            return static_cast<std::size_t>(x[p]);
        }
    };
};

} // namespace kiln
