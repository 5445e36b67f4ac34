#pragma once
// kiln::parameter_table<Net>(): every named parameter tensor of a network, one
// line each, as a program outside kiln needs it to read or write kiln's flat
// parameter buffer (scripts/torch_weights.py exchanges weights with PyTorch by it):
//
//   KEY<TAB>OFFSET<TAB>SHAPE<TAB>STORED_AS<TAB>LAYER
//   3.weight    1024    10x128    1,0    layer 4 (linear<10>)
//
// KEY is the tensor's name in a PyTorch nn.Sequential that mirrors the network
// layer for layer (positions and copies from 0, then the part's name), OFFSET
// where it starts in the flat buffer, SHAPE its shape as PyTorch writes it, and
// STORED_AS the order kiln stores its axes in (graph/layer_view.hpp). A model
// checkpoint carries the table (train/checkpoint.hpp).
#include "kiln/graph/layer_rows.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace kiln {

namespace detail {
// "3 > copy 2 > 1" -> "2.1.0": PyTorch's module names, which count from 0.
[[gnu::cold]] inline std::string module_key(const layer_path& path) {
    std::string key;
    for (std::size_t i = 0; i < path.size(); ++i)
        key += std::to_string(path[i].number - 1) + ".";
    return key;
}

[[gnu::cold]] inline std::string joined_axes(const parameter_part& part, bool stored_order) {
    std::string text;
    for (std::size_t i = 0; i < part.rank(); ++i) {
        if (i > 0) text += stored_order ? "," : "x";
        text += std::to_string(stored_order ? part.stored_as[i] : part.shape[i]);
    }
    return text;
}
} // namespace detail

[[gnu::cold]] inline std::string parameter_table(const std::vector<layer_row>& rows) {
    std::string table;
    for (const layer_row& row : rows)
        for (const parameter_part& part : row.parts)
            table += detail::module_key(row.path) + std::string(part.name) + "\t" +
                     std::to_string(row.param_offset + part.offset) + "\t" +
                     detail::joined_axes(part, false) + "\t" + detail::joined_axes(part, true) +
                     "\tlayer " + row.path.to_string() + " (" + row.name + ")\n";
    return table;
}

template <class Net>
[[gnu::cold]] std::string parameter_table() {
    return parameter_table(layer_rows<Net>());
}

} // namespace kiln
