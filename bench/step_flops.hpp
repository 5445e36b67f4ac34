#pragma once
// FLOP of one example's training step, counting the products only: each layer
// with a product (parameters, and not batch_norm, whose parameters scale and
// shift) does its forward product and its weight gradient, and every one but the
// first its input gradient too (a recurrent layer's input gradient and the
// gradient it carries back through time make one more forward's worth). An
// embedding's lookup counts nothing. bench/run.py turns the GFLOP/s counters made
// of it back into each step's FLOP.
#include <kiln/kiln.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

template <class Spec>
inline constexpr bool is_batch_norm = false;
template <kiln::real_constant Momentum, kiln::real_constant Eps>
inline constexpr bool is_batch_norm<kiln::batch_norm<Momentum, Eps>> = true;

template <class Net>
constexpr double step_flops = []<std::size_t... I>(std::index_sequence<I...>) {
    double total = 0;
    bool first = true;
    auto add = [&](auto layer) {
        using type = typename decltype(layer)::type;
        if constexpr (type::param_count != 0 && !is_batch_norm<typename type::spec>) {
            total += static_cast<double>(type::flops_per_example) * (first ? 2 : 3);
            first = false;
        }
    };
    (add(std::type_identity<kiln::type_at<I, typename Net::layers>>{}), ...);
    return total;
}
(std::make_index_sequence<Net::layer_count>{});
