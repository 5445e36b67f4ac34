#pragma once
// Command-line checks with messages a person can read ("--minibatch_size must be
// at least 1, got 0"), for CLI11's ->check().
#include <CLI/CLI.hpp>

#include <cmath>
#include <limits>
#include <string>

namespace kiln::examples {

// A finite number in [low, high] (high_open: [low, high)).
inline CLI::Validator number_in(double low, double high, bool high_open = false) {
    auto description = "in [" + CLI::detail::to_string(low) + ", " + CLI::detail::to_string(high) +
                       (high_open ? ")" : "]");
    return CLI::Validator(
        [=](std::string& text) -> std::string {
            double value = 0;
            std::size_t used = 0;
            try {
                value = std::stod(text, &used);
            } catch (const std::exception&) {
                return "must be a number, got '" + text + "'";
            }
            if (used != text.size() || !std::isfinite(value))
                return "must be a finite number, got '" + text + "'";
            if (value < low || value > high || (high_open && value == high))
                return "must be " + description + ", got " + text;
            return {};
        },
        description);
}

// A finite number >= low.
inline CLI::Validator at_least(double low) {
    const std::string description = ">= " + CLI::detail::to_string(low);
    return CLI::Validator(
        [=](std::string& text) -> std::string {
            auto message = number_in(low, std::numeric_limits<double>::max())(text);
            return message.empty() ? message : "must be a number " + description + ", got " + text;
        },
        description);
}

} // namespace kiln::examples
