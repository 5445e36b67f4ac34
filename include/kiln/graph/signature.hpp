#pragma once
// kiln::network_signature<Net>(): one line that names a network's layers, the
// shape each produces and the parameters each holds, e.g.
//   input<784> (784) -> linear<128> (128) [100480] -> relu (128) -> linear<10> (10) [1290]
// A checkpoint stores it, so that loading into another network is refused with
// both networks named. It says nothing about fusion: a sequential and an
// unfused_sequential of the same layers share a signature (and a memory layout).
#include "kiln/graph/layer_rows.hpp"
#include "kiln/graph/sequential.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln {

inline constexpr std::string_view signature_separator = " -> ";

template <class Net>
[[gnu::cold]] std::string network_signature() {
    std::string text = Net::input_spec::name() + " " + Net::input_shape::to_string();
    for (const layer_row& row : layer_rows<Net>()) {
        if (row.path.depth() != 0) continue; // a composite's name spells out its layers
        text += signature_separator;
        text += row.name + " " + row.out_shape;
        if (row.param_count != 0) text += " [" + std::to_string(row.param_count) + "]";
    }
    return text;
}

// The entries of a signature: the input first, then one per layer.
inline std::vector<std::string> signature_layers(std::string_view signature) {
    std::vector<std::string> layers;
    for (;;) {
        const auto at = signature.find(signature_separator);
        layers.emplace_back(signature.substr(0, at));
        if (at == std::string_view::npos) return layers;
        signature.remove_prefix(at + signature_separator.size());
    }
}

// Where two signatures first differ, for an error message: "layer 2: linear<64> (64)
// [50240] here, linear<128> (128) [100480] there"; empty when they are equal.
inline std::string signature_difference(std::string_view here, std::string_view there,
                                        std::string_view here_name = "here",
                                        std::string_view there_name = "there") {
    const auto a = signature_layers(here);
    const auto b = signature_layers(there);
    for (std::size_t i = 0; i < a.size() || i < b.size(); ++i) {
        const std::string left = i < a.size() ? a[i] : "nothing";
        const std::string right = i < b.size() ? b[i] : "nothing";
        if (left != right)
            return "layer " + std::to_string(i) + ": " + left + " " + std::string(here_name) +
                   ", " + right + " " + std::string(there_name);
    }
    return {};
}

} // namespace kiln
