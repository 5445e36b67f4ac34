#pragma once
// The check every optimizer makes of a learning rate from outside, when it is
// made and when the rate is changed between steps (set_learning_rate).
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace kiln {

inline void require_learning_rate(double rate, const char* optimizer) {
    if (rate >= 0.0 && std::isfinite(rate)) [[likely]]
        return;
    char text[32];
    std::snprintf(text, sizeof text, "%.7g", rate);
    throw std::invalid_argument(std::string("kiln::") + optimizer +
                                ": the learning rate must be a finite number >= 0, not " + text);
}

} // namespace kiln
