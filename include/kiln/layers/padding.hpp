#pragma once
// kiln::padding: the zeros a convolution (conv1d, conv2d) adds around its input,
// as PyTorch's `padding` argument: a count of zeros on each side (`2`, converted
// implicitly), or kiln::same, which pads so that the output is as long as the
// input (stride 1 only, as PyTorch requires). Like PyTorch, `same` puts the odd
// zero of an even total after the input.
//
// kiln::conv_axis: where a window of Kernel taps, Dilation apart, falls along one
// axis of In values, padded and strided: the output's length, and the output
// positions whose window lies wholly inside the input (the rest read padding).
// Neither padding nor dilation changes a convolution's weights, only which
// inputs each weight meets.
#include "kiln/core/diagnostics.hpp"
#include "kiln/core/names.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace kiln {

struct padding {
    std::size_t zeros = 0; // on each side, unless is_same
    bool is_same = false;

    constexpr padding(std::size_t zeros_on_each_side = 0) noexcept : zeros(zeros_on_each_side) {}
    static constexpr padding same_length() noexcept {
        padding p;
        p.is_same = true;
        return p;
    }
    friend constexpr bool operator==(const padding&, const padding&) = default;
};

// Pads so that, at stride 1, the output is as long as the input.
inline constexpr padding same = padding::same_length();

namespace error {
template <class Layer>
struct same_padding_needs_stride_one {
    static void report() {
        static_assert(facts_of_the_error<Layer>,
                      "kiln: kiln::same pads so that the output is as long as the input, which "
                      "only a stride of 1 gives (PyTorch refuses padding='same' with a stride "
                      "too). Fix: use stride 1, or pad explicitly: kiln::conv2d<F, 3, 2, 1>.");
    }
};
} // namespace error

// A convolution's dilation, as diagnostics name it.
template <std::size_t Dilation>
struct dilation {};

template <std::size_t In, std::size_t Kernel, std::size_t Stride, padding Padding,
          std::size_t Dilation>
struct conv_axis {
    static constexpr bool sizes_nonzero = Kernel != 0 && Stride != 0 && Dilation != 0;
    // Input values a window spans, from its first tap to its last.
    static constexpr std::size_t extent = sizes_nonzero ? Dilation * (Kernel - 1) + 1 : 1;
    static constexpr std::size_t total_padding = Padding.is_same ? extent - 1 : 2 * Padding.zeros;
    static constexpr std::size_t before = Padding.is_same ? total_padding / 2 : Padding.zeros;
    static constexpr std::size_t padded_length = In + total_padding;
    static constexpr bool fits = sizes_nonzero && extent <= padded_length;
    static constexpr std::size_t out = fits ? (padded_length - extent) / Stride + 1 : 1;

    // Output positions [inside_begin, inside_end) read no padding: o * Stride >=
    // before and o * Stride - before + extent <= In.
    static constexpr std::size_t inside_begin = [] {
        const std::size_t first = sizes_nonzero ? (before + Stride - 1) / Stride : 0;
        return first < out ? first : out;
    }();
    static constexpr std::size_t inside_end = [] {
        if (!sizes_nonzero || In + before < extent) return inside_begin;
        const std::size_t last = (In + before - extent) / Stride + 1;
        return last < inside_begin ? inside_begin : last < out ? last : out;
    }();
    static constexpr bool reads_padding = inside_begin != 0 || inside_end != out;

    // Where tap k of output position o falls in the input; false when on padding.
    static constexpr bool tap_inside(std::size_t o, std::size_t k) noexcept {
        const std::size_t at = o * Stride + k * Dilation;
        return at >= before && at - before < In;
    }
    static constexpr std::size_t tap_at(std::size_t o, std::size_t k) noexcept {
        return o * Stride + k * Dilation - before;
    }
};

// A convolution's name as its type is written, its arguments through the last
// one that is not the default: "conv2d<32, 3>", "conv2d<32, 3, 1, same>".
[[gnu::cold, gnu::noinline]] inline std::string
convolution_name(std::string_view open, std::size_t filters, std::size_t kernel, std::size_t stride,
                 padding pad, std::size_t dilation) {
    const std::size_t shown = dilation != 1 ? 5 : pad != padding{} ? 4 : stride != 1 ? 3 : 2;
    std::string text = bracketed(open, {filters, kernel}, "");
    if (shown >= 3) text += ", " + std::to_string(stride);
    if (shown >= 4) text += pad.is_same ? std::string(", same") : ", " + std::to_string(pad.zeros);
    if (shown >= 5) text += ", " + std::to_string(dilation);
    return text + ">";
}

} // namespace kiln
