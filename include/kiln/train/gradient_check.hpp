#pragma once
// Central differences: (L(w + eps) - L(w - eps)) / (2 eps), one parameter at a
// time, to check what backward computes. Run it on a double model.
#include <cstddef>

namespace kiln {

template <class Trainer, class Inputs, class Labels>
[[gnu::cold]] double numerical_gradient(Trainer& trainer, Inputs x, Labels labels,
                                        std::size_t parameter_index, double eps) {
    auto parameters = trainer.net().parameters();
    using scalar = typename decltype(parameters)::value_type;
    const scalar saved = parameters[parameter_index];
    parameters[parameter_index] = static_cast<scalar>(saved + eps);
    const double plus = static_cast<double>(trainer.loss(x, labels));
    parameters[parameter_index] = static_cast<scalar>(saved - eps);
    const double minus = static_cast<double>(trainer.loss(x, labels));
    parameters[parameter_index] = saved;
    return (plus - minus) / (2 * eps);
}

} // namespace kiln
