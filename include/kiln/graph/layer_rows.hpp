#pragma once
// kiln::layer_rows<Net>(): one row per bound layer of a network, in
// for_each_layer's order (a composite before the layers inside it), with what
// summaries, signatures, the parameter table and the non-finite reports print.
// Those are written once, over rows, for every network: walked per network, each
// compiled a copy of itself for every layer of every network a program holds (a
// third of examples/gpt's object code, all of it run at most once).
#include "kiln/graph/layer_view.hpp"
#include "kiln/graph/visit.hpp"

#include <cstddef>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

namespace kiln {

struct layer_row {
    layer_path path;
    std::string name;      // the spec's name, "linear<128>"
    std::string out_shape; // one example's output shape, "(128)"
    std::size_t param_offset = 0;
    std::size_t storage_size = 0;
    std::size_t param_count = 0;
    bool composite = false; // holds layers: their rows follow it
    std::span<const parameter_part> parts;
};

template <class Net>
[[gnu::cold]] std::vector<layer_row> layer_rows() {
    std::vector<layer_row> rows;
    for_each_layer<Net>([&](auto visit) {
        using bound = typename decltype(visit)::layer;
        rows.push_back({visit.path, bound::spec::name(), bound::out_shape::to_string(),
                        decltype(visit)::param_offset, bound::storage_size, bound::param_count,
                        requires { typename bound::inner; }, parameter_parts_of<bound>
});
});
return rows;
}

// summary()'s table: position, layer, output shape, parameters, the layers inside
// a composite indented under it.
[[gnu::cold]] inline std::string layer_summary(const std::string& input_name,
                                               const std::string& input_shape,
                                               const std::vector<layer_row>& rows,
                                               std::size_t param_count) {
    std::string text;
    auto line = [&](const std::string& position, const std::string& name, const std::string& out,
                    const std::string& params) {
        char formatted[256];
        std::snprintf(formatted, sizeof formatted, "%-12s %-28s %-18s %12s\n", position.c_str(),
                      name.c_str(), out.c_str(), params.c_str());
        text += formatted;
    };
    line("#", "layer", "output shape", "parameters");
    line("0", input_name, input_shape, "0");
    for (const layer_row& row : rows)
        line(row.path.to_string(), std::string(2 * row.path.depth(), ' ') + row.name, row.out_shape,
             std::to_string(row.param_count));
    text += "total parameters: " + std::to_string(param_count) + "\n";
    return text;
}

// What entry `index` of a network's flat parameter buffer is, for a message:
// "layer 3 > copy 2 > 1 (linear<64>), weight[12]", or "padding". The innermost
// layer that holds it is named, with its part when it names its parts
// (graph/layer_view.hpp).
[[gnu::cold]] inline std::string describe_parameter(const std::vector<layer_row>& rows,
                                                    std::size_t index) {
    std::string text = "padding";
    for (const layer_row& row : rows) {
        if (index < row.param_offset || index >= row.param_offset + row.storage_size) continue;
        const std::size_t entry = index - row.param_offset;
        text = "layer " + row.path.to_string() + " (" + row.name + ")";
        bool named = false;
        for (const parameter_part& part : row.parts)
            if (entry >= part.offset && entry < part.offset + part.count()) {
                text +=
                    ", " + std::string(part.name) + "[" + std::to_string(entry - part.offset) + "]";
                named = true;
            }
        if (!named && !row.composite) text += ", entry " + std::to_string(entry);
    }
    return text;
}

template <class Net>
[[gnu::cold]] std::string describe_parameter(std::size_t index) {
    return describe_parameter(layer_rows<Net>(), index);
}

} // namespace kiln
