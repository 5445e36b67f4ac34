#pragma once
// Command-line checks with messages a person can read ("--minibatch_size must be
// at least 1, got 0"), for CLI11's ->check().
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
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

// A whole number in [low, 2^64 - 1], written in decimal digits only (no sign,
// point or exponent), for counts and seeds.
inline CLI::Validator whole_number_at_least(unsigned long long low) {
    const std::string description = "a whole number >= " + std::to_string(low);
    return CLI::Validator(
        [=](std::string& text) -> std::string {
            const bool digits =
                !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
            if (!digits) return "must be " + description + ", got '" + text + "'";
            errno = 0;
            const unsigned long long value = std::strtoull(text.c_str(), nullptr, 10);
            if (errno == ERANGE) return "must be " + description + " below 2^64, got " + text;
            if (value < low) return "must be " + description + ", got " + text;
            return {};
        },
        description);
}

// A file the program will write: its folder must exist, and it must not be a folder.
inline CLI::Validator file_to_write() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            namespace fs = std::filesystem;
            const fs::path path(text);
            std::error_code ec;
            if (text.empty() || !path.has_filename() || fs::is_directory(path, ec))
                return "must name a file, got the folder '" + text + "'";
            const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
            if (!fs::is_directory(folder, ec))
                return "must be in an existing folder, but '" + folder.string() + "' is not one";
            return {};
        },
        "FILE");
}

// An option whose values are checked and whose default --help shows.
template <class T>
CLI::Option* checked_option(CLI::App& app, const std::string& name, T& value,
                            const std::string& help, const CLI::Validator& check) {
    return app.add_option(name, value, help)->check(check)->capture_default_str();
}

// The course's SGD recipe (SEED.md C, D), as the MLP and the OOD study spell it.
template <class Options>
void add_recipe_options(CLI::App& app, Options& opt) {
    checked_option(app, "--minibatch_size", opt.minibatch_size, "examples per SGD step",
                   whole_number_at_least(1));
    checked_option(app, "--learning_rate", opt.learning_rate, "SGD learning rate", at_least(0));
    checked_option(app, "--momentum", opt.momentum, "momentum alpha in [0, 1): v <- alpha v + g",
                   number_in(0, 1, /*high_open=*/true));
    checked_option(app, "--num_epoch", opt.num_epoch, "maximum number of epochs",
                   whole_number_at_least(1));
    checked_option(app, "--early_stopping_patience", opt.early_stopping_patience,
                   "epochs without a better validation accuracy before stopping (0: never stop)",
                   whole_number_at_least(0));
}

} // namespace kiln::examples
