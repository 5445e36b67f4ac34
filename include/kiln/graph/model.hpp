#pragma once
// kiln::model<Net, T>: a network's parameters and gradients, each one aligned
// buffer in which every layer's slice sits at a compile-time offset.
#include "kiln/core/aligned_buffer.hpp"
#include "kiln/core/init.hpp"
#include "kiln/core/rng.hpp"
#include "kiln/graph/layer_view.hpp"
#include "kiln/graph/sequential.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <type_traits>

namespace kiln {

namespace error {
template <class Given>
struct model_needs_a_sequential_network {
    static void report() {
        static_assert(facts_of_the_error<Given>,
                      "kiln: kiln::model<Net, T> needs a network declared as "
                      "kiln::sequential<kiln::input<...>, layers...>, but 'Given' is not one. Fix: "
                      "declare the network, then make the model of it: kiln::model<"
                      "kiln::sequential<kiln::input<784>, kiln::linear<10>>>.");
    }
};
template <class Given>
struct scalar_must_be_float_or_double {
    static void report() {
        static_assert(facts_of_the_error<Given>,
                      "kiln: the scalar type of a model must be float (for speed) or double (for "
                      "gradient checks), but 'Given' is neither. Fix: write kiln::model<Net> "
                      "(float) or kiln::model<Net, double>.");
    }
};
} // namespace error

// Where each layer's parameters start in the flat buffer (the same for float and double).
template <class Net>
struct parameter_layout {
    // offsets[I] is layer I's slice (I from 1); offsets[0] is 0 and belongs to the input.
    static constexpr std::array<std::size_t, Net::layer_count + 1> offsets = [] {
        std::array<std::size_t, Net::layer_count + 1> result{};
        for (std::size_t i = 0; i < Net::layer_count; ++i)
            result[i + 1] = Net::network_runner::param_offsets[i];
        return result;
    }();
    static constexpr std::size_t storage_size = Net::network_runner::storage_size;
};

template <class Net, class T = float>
class model {
    static_assert(checked(
        enforce<first_broken<rule<is_sequential<Net>, error::model_needs_a_sequential_network<Net>>,
                             rule<std::is_same_v<T, float> || std::is_same_v<T, double>,
                                  error::scalar_must_be_float_or_double<T>>>>));

public:
    // Net, or after a reported mistake an empty network that adds no errors of its own.
    using network = std::conditional_t<is_sequential<Net>, Net, sequential<input<1>>>;
    using scalar = T;
    using layout = parameter_layout<network>;
    using input_shape = typename network::input_shape;
    using output_shape = typename network::output_shape;
    static constexpr std::size_t param_count = network::param_count;

    // Draws every parameter from the scheme with a generator seeded by `seed`.
    // Constructors and other run-once code are [[gnu::cold]]: compiled for size, they
    // took a second off each program with several networks (examples/gpt).
    template <class Scheme = init::normal>
    [[gnu::cold]] explicit model(const Scheme& scheme = {}, std::uint64_t seed = 42)
        : parameters_(layout::storage_size), gradients_(layout::storage_size) {
        initialize(scheme, seed);
    }

    // Draws every parameter from the scheme with the given generator, which goes on
    // to serve the rest of a run (shuffling), so one seed fixes everything.
    template <class Scheme>
    [[gnu::cold]] model(const Scheme& scheme, rng& random)
        : parameters_(layout::storage_size), gradients_(layout::storage_size) {
        initialize(scheme, random);
    }

    // The same parameters in another scalar type (e.g. double for a gradient check).
    template <class U>
    explicit model(const model<Net, U>& other)
        : parameters_(layout::storage_size), gradients_(layout::storage_size) {
        std::copy(other.parameters().begin(), other.parameters().end(), parameters_.data());
    }

    template <class Scheme>
    void initialize(const Scheme& scheme, std::uint64_t seed) {
        rng random(seed);
        initialize(scheme, random);
    }
    // Layers draw in order, from the first to the last.
    template <class Scheme>
    void initialize(const Scheme& scheme, rng& random) {
        parameters_.fill(T{0});
        network::network_runner::initialize(parameters_.data(), random, scheme);
    }

    // The whole flat buffers, padding included (padding is zero and stays zero).
    std::span<T> parameters() noexcept { return parameters_.span(); }
    std::span<const T> parameters() const noexcept { return parameters_.span(); }
    std::span<T> gradients() noexcept { return gradients_.span(); }
    std::span<const T> gradients() const noexcept { return gradients_.span(); }

    // Where layer I's slice starts in the flat buffers (I from 1, as declared after the
    // input). A position that is no layer (0 is the input) is reported, not read past
    // the end.
    template <std::size_t I>
    static constexpr std::size_t offset_of = [] {
        constexpr bool is_layer = I >= 1 && I <= network::layer_count;
        static_assert(checked(
            require<is_layer, error::no_layer_at_this_position<
                                  asked_position<I>, layers_in_network<network::layer_count>>>));
        return layout::offsets[is_layer ? I : 0];
    }();

    // Layer I's slice.
    template <std::size_t I>
    T* parameters_of() noexcept {
        return parameters_.data() + offset_of<I>;
    }
    template <std::size_t I>
    const T* parameters_of() const noexcept {
        return parameters_.data() + offset_of<I>;
    }
    template <std::size_t I>
    T* gradients_of() noexcept {
        return gradients_.data() + offset_of<I>;
    }
    template <std::size_t I>
    const T* gradients_of() const noexcept {
        return gradients_.data() + offset_of<I>;
    }

    // Layer I's parameters and gradients, by name (graph/layer_view.hpp):
    // net.layer<2>().weights().
    template <std::size_t I>
    layer_view<typename network::template layer_t<I>, T> layer() noexcept {
        return {parameters_of<I>(), gradients_of<I>()};
    }
    template <std::size_t I>
    layer_view<typename network::template layer_t<I>, const T> layer() const noexcept {
        return {parameters_of<I>(), gradients_of<I>()};
    }

private:
    aligned_buffer<T> parameters_;
    aligned_buffer<T> gradients_;
};

} // namespace kiln
