#pragma once
// FLOP of one example's training step, counting the products only: each layer
// with parameters does its forward product and its weight gradient, and every
// one but the first its input gradient too (a recurrent layer's input gradient
// and the gradient it carries back through time make one more forward's worth).
// An embedding's lookup counts nothing. bench/run.py turns the GFLOP/s counters
// made of it back into each step's FLOP.
#include <kiln/kiln.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

template <class Net>
constexpr double step_flops = []<std::size_t... I>(std::index_sequence<I...>) {
    double total = 0;
    bool first = true;
    auto add = [&](auto layer) {
        using type = typename decltype(layer)::type;
        if constexpr (type::param_count != 0) {
            total += static_cast<double>(type::flops_per_example) * (first ? 2 : 3);
            first = false;
        }
    };
    (add(std::type_identity<kiln::type_at<I, typename Net::layers>>{}), ...);
    return total;
}
(std::make_index_sequence<Net::layer_count>{});
