#pragma once
// kiln::layer_view: one layer's slice of a model's parameters and gradients, by
// name. net.layer<2>().weights() is the second layer's weight matrix as kiln stores
// it (for linear, [in][out] row-major: PyTorch's weight transposed). A layer names
// the parts of its slice in `parameter_parts` (PyTorch's names: "weight", "bias",
// with PyTorch's shape and the order kiln stores the axes in, which is what
// io exchange with PyTorch needs: graph/parameter_table.hpp); parameters() and
// gradients() are the whole slice, padding included.
#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kiln {

// A named part of a layer's parameter slice: where it starts in the slice, its
// shape as PyTorch writes the tensor, and how kiln lays it out: kiln's axis i is
// PyTorch's axis stored_as[i] (linear's weight, PyTorch's [out][in] stored
// [in][out], is {1, 0}).
struct parameter_part {
    static constexpr std::size_t max_rank = 4;
    std::string_view name;
    std::size_t offset;
    std::array<std::size_t, max_rank> shape{}; // axes past the rank are 0
    std::array<std::size_t, max_rank> stored_as{0, 1, 2, 3};

    constexpr std::size_t rank() const noexcept {
        std::size_t r = 0;
        while (r < max_rank && shape[r] != 0)
            ++r;
        return r;
    }
    constexpr std::size_t count() const noexcept {
        std::size_t n = 1;
        for (std::size_t i = 0; i < rank(); ++i)
            n *= shape[i];
        return n;
    }
    constexpr bool stored_as_is_a_permutation() const noexcept {
        for (std::size_t axis = 0; axis < rank(); ++axis) {
            std::size_t seen = 0;
            for (std::size_t i = 0; i < rank(); ++i)
                seen += stored_as[i] == axis ? 1 : 0;
            if (seen != 1) return false;
        }
        return true;
    }
};

namespace detail {
// Parts inside the slice, in order, not overlapping, each stored as a permutation
// (not asked of a layer whose mistake the network reports already).
template <class Layer, std::size_t N>
constexpr bool parts_fit(const std::array<parameter_part, N>& parts) {
    if constexpr (requires { Layer::valid; })
        if (!Layer::valid) return true;
    std::size_t end = 0;
    for (const parameter_part& p : parts) {
        if (p.rank() == 0 || p.offset < end || !p.stored_as_is_a_permutation()) return false;
        end = p.offset + p.count();
    }
    return end <= Layer::storage_size;
}
} // namespace detail

template <class Layer>
inline constexpr auto parameter_parts_of = [] {
    if constexpr (requires { Layer::parameter_parts; }) {
        static_assert(detail::parts_fit<Layer>(Layer::parameter_parts),
                      "kiln: a layer's parameter_parts must lie in order inside its slice, "
                      "each with a shape and a permutation of its axes in stored_as");
        return Layer::parameter_parts;
    } else {
        return std::array<parameter_part, 0>{};
    }
}();

template <class Layer>
constexpr bool has_parameter_part(std::string_view name) {
    for (const parameter_part& part : parameter_parts_of<Layer>)
        if (part.name == name) return true;
    return false;
}

template <class Layer, class T>
class layer_view {
public:
    using layer = Layer;
    layer_view(T* parameters, T* gradients) noexcept
        : parameters_(parameters), gradients_(gradients) {}

    std::span<T> parameters() const noexcept { return {parameters_, Layer::storage_size}; }
    std::span<T> gradients() const noexcept { return {gradients_, Layer::storage_size}; }

    // The named part of the parameters (or, with gradient = true, of the gradients).
    std::span<T> part(std::string_view name, bool gradient = false) const {
        for (const parameter_part& p : parameter_parts_of<Layer>)
            if (p.name == name)
                return {(gradient ? gradients_ : parameters_) + p.offset, p.count()};
        throw std::out_of_range("kiln: layer " + Layer::spec::name() +
                                " has no parameters named '" + std::string(name) + "'");
    }
    std::span<T> weights() const requires(has_parameter_part<Layer>("weight")) {
        return part("weight");
    }
    std::span<T> bias() const requires(has_parameter_part<Layer>("bias")) { return part("bias"); }
    std::span<T> weight_gradients() const requires(has_parameter_part<Layer>("weight")) {
        return part("weight", true);
    }
    std::span<T> bias_gradients() const requires(has_parameter_part<Layer>("bias")) {
        return part("bias", true);
    }

private:
    T* parameters_;
    T* gradients_;
};

} // namespace kiln
