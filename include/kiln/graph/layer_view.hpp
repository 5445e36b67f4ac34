#pragma once
// kiln::layer_view: one layer's slice of a model's parameters and gradients, by
// name. net.layer<2>().weights() is the second layer's weight matrix as kiln stores
// it (for linear, [in][out] row-major: PyTorch's weight transposed). A layer names
// the parts of its slice in `parameter_parts` (PyTorch's names: "weight", "bias");
// parameters() and gradients() are the whole slice, padding included.
#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kiln {

// A named part of a layer's parameter slice: offset and count within the slice.
struct parameter_part {
    std::string_view name;
    std::size_t offset;
    std::size_t count;
};

template <class Layer>
inline constexpr auto parameter_parts_of = [] {
    if constexpr (requires { Layer::parameter_parts; })
        return Layer::parameter_parts;
    else
        return std::array<parameter_part, 0>{};
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
            if (p.name == name) return {(gradient ? gradients_ : parameters_) + p.offset, p.count};
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
