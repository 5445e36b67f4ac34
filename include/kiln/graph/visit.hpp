#pragma once
// Visiting a network's layers: kiln::for_each_layer<Net>(f) calls f once per bound
// layer, in order, a composite before the layers inside it, with
//   typename decltype(v)::layer        the bound layer type
//   decltype(v)::param_offset          where its slice starts in the network's
//                                      flat parameter (and gradient) buffer
//   v.path                             where it is: "3" for the third layer after
//                                      the input, "3 > copy 2 > 1" for the first
//                                      layer of the second copy in a repeat at 3
// graph/layer_rows.hpp walks it once per network for every report that names layers.
#include "kiln/core/static_for.hpp"
#include "kiln/graph/layer_view.hpp"
#include "kiln/graph/runner.hpp"

#include <array>
#include <cstddef>
#include <string>

namespace kiln {

// One step of a path: a position in a network (from 1), or a copy of a repeat (from 1).
struct path_step {
    bool is_copy = false;
    std::size_t number = 0;
};

class layer_path {
public:
    static constexpr std::size_t max_steps = 16;

    constexpr layer_path then(path_step step) const noexcept {
        layer_path longer = *this;
        if (size_ < max_steps) longer.steps_[longer.size_++] = step;
        return longer;
    }
    constexpr std::size_t size() const noexcept { return size_; }
    constexpr const path_step& operator[](std::size_t i) const noexcept { return steps_[i]; }
    // Layers that hold this one (0 for a layer of the network itself).
    constexpr std::size_t depth() const noexcept {
        std::size_t positions = 0;
        for (std::size_t i = 0; i < size_; ++i)
            positions += steps_[i].is_copy ? 0 : 1;
        return positions == 0 ? 0 : positions - 1;
    }
    // The position in the network itself: the first step.
    constexpr std::size_t top() const noexcept { return size_ == 0 ? 0 : steps_[0].number; }

    // "3 > copy 2 > 1"
    std::string to_string() const {
        std::string text;
        for (std::size_t i = 0; i < size_; ++i) {
            if (i > 0) text += " > ";
            if (steps_[i].is_copy) text += "copy ";
            text += std::to_string(steps_[i].number);
        }
        return text;
    }

private:
    std::array<path_step, max_steps> steps_{};
    std::size_t size_ = 0;
};

template <class Layer, std::size_t ParamOffset>
struct layer_visit {
    using layer = Layer;
    static constexpr std::size_t param_offset = ParamOffset;
    layer_path path;
};

namespace detail {
template <class Runner, std::size_t Offset, std::size_t PerCopy = 0, class F>
void visit_runner(const layer_path& path, F& f);

// The layers inside a composite: its inner network's, or each copy's.
template <class Layer, std::size_t Offset, class F>
void visit_inside(const layer_path& path, F& f) {
    if constexpr (requires { typename Layer::inner; }) {
        using inner = typename Layer::inner;
        if constexpr (requires { inner::copies; }) { // one body run for each copy
            static_for<inner::copies>([&](auto c) {
                visit_runner<typename inner::body, Offset + c * inner::body::storage_size>(
                    path.then({true, c + 1}), f);
            });
        } else if constexpr (requires { Layer::layers_per_copy; }) { // copies in a row
            visit_runner<inner, Offset, Layer::layers_per_copy>(path, f);
        } else {
            visit_runner<inner, Offset>(path, f);
        }
    }
}

template <class Runner, std::size_t Offset, std::size_t PerCopy, class F>
void visit_runner(const layer_path& path, F& f) {
    static_for<Runner::count>([&](auto k) {
        using layer = typename Runner::template layer_t<k>;
        constexpr std::size_t offset = Offset + Runner::param_offsets[k];
        const layer_path here = PerCopy == 0 ? path.then({false, k + 1})
                                             : path.then({true, k / (PerCopy ? PerCopy : 1) + 1})
                                                   .then({false, k % (PerCopy ? PerCopy : 1) + 1});
        f(layer_visit<layer, offset>{here});
        visit_inside<layer, offset>(here, f);
    });
}
} // namespace detail

template <class Net, class F>
void for_each_layer(F&& f) {
    detail::visit_runner<typename Net::network_runner, 0>(layer_path{}, f);
}

} // namespace kiln
