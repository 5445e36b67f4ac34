// CLI11 behind kiln::examples::command_line, compiled once for every program.
#include "command_line.hpp"

#include <CLI/CLI.hpp>
#include <kiln/io/atomic_file.hpp>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <system_error>

namespace kiln::examples {
namespace {

std::string number_text(double value) {
    return CLI::detail::to_string(value);
}

// Empty when text is a finite number in [low, high] ([low, high) when high_open),
// otherwise what is wrong with it.
std::string number_problem(const std::string& text, double low, double high, bool high_open,
                           const std::string& description) {
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
}

CLI::Validator number_in_validator(double low, double high, bool high_open) {
    auto description =
        "in [" + number_text(low) + ", " + number_text(high) + (high_open ? ")" : "]");
    return CLI::Validator(
        [=](std::string& text) { return number_problem(text, low, high, high_open, description); },
        description);
}

CLI::Validator at_least_validator(double low) {
    const std::string description = ">= " + number_text(low);
    return CLI::Validator(
        [=](std::string& text) -> std::string {
            auto problem =
                number_problem(text, low, std::numeric_limits<double>::max(), false, description);
            return problem.empty() ? problem : "must be a number " + description + ", got " + text;
        },
        description);
}

CLI::Validator whole_number_validator(unsigned long long least) {
    const std::string description = "a whole number >= " + std::to_string(least);
    return CLI::Validator(
        [=](std::string& text) -> std::string {
            const bool digits =
                !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
            if (!digits) return "must be " + description + ", got '" + text + "'";
            errno = 0;
            const unsigned long long value = std::strtoull(text.c_str(), nullptr, 10);
            if (errno == ERANGE) return "must be " + description + " below 2^64, got " + text;
            if (value < least) return "must be " + description + ", got " + text;
            return {};
        },
        description);
}

// Empty when a file could be written at `path` now (kiln::require_writable makes
// and removes a temporary file exactly where the program's save will), otherwise
// why not: a program checks where its results go before it trains for hours.
std::string write_problem(const std::filesystem::path& path) {
    try {
        kiln::require_writable(path);
    } catch (const std::system_error& failure) {
        return failure.what();
    }
    return {};
}

CLI::Validator file_to_write_validator() {
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
            return write_problem(path);
        },
        "FILE");
}

CLI::Validator folder_to_write_validator() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            namespace fs = std::filesystem;
            std::error_code ec;
            if (!fs::is_directory(text, ec))
                return "must be an existing folder, got '" + text + "'";
            // Any name will do: the probe's own temporary name is unique.
            return write_problem(fs::path(text) / "results");
        },
        "DIR");
}

void add_check(CLI::Option* option, const value_check& check) {
    using kind = value_check::kind;
    switch (check.what) {
    case kind::anything:
        return;
    case kind::number_in:
        option->check(number_in_validator(check.low, check.high, check.high_open));
        return;
    case kind::at_least:
        option->check(at_least_validator(check.low));
        return;
    case kind::whole_number:
        option->check(whole_number_validator(check.least));
        return;
    case kind::file_to_write:
        option->check(file_to_write_validator());
        return;
    case kind::folder_to_write:
        option->check(folder_to_write_validator());
        return;
    case kind::existing_folder:
        option->check(CLI::ExistingDirectory);
        return;
    case kind::existing_file:
        option->check(CLI::ExistingFile);
        return;
    case kind::one_of:
        option->check(CLI::IsMember(check.choices));
        return;
    }
}

} // namespace

struct command_line::parser {
    explicit parser(const std::string& description) : app(description) {}
    CLI::App app;

    template <class T>
    CLI::Option* add(const std::string& names, T& value, const std::string& help,
                     const value_check& check) {
        auto* option = app.add_option(names, value, help);
        add_check(option, check);
        option->capture_default_str();
        return option;
    }
};

command_line::command_line(const std::string& description)
    : parser_(std::make_unique<parser>(description)) {}

command_line::~command_line() = default;

void command_line::option(const std::string& names, unsigned long& value, const std::string& help,
                          const value_check& check) {
    parser_->add(names, value, help, check);
}
void command_line::option(const std::string& names, unsigned long long& value,
                          const std::string& help, const value_check& check) {
    parser_->add(names, value, help, check);
}
void command_line::option(const std::string& names, int& value, const std::string& help,
                          const value_check& check) {
    parser_->add(names, value, help, check);
}
void command_line::option(const std::string& names, double& value, const std::string& help,
                          const value_check& check) {
    parser_->add(names, value, help, check);
}
void command_line::option(const std::string& names, std::string& value, const std::string& help,
                          const value_check& check) {
    parser_->add(names, value, help, check);
}
void command_line::option(const std::string& names, std::vector<std::string>& values,
                          const std::string& help, const value_check& each) {
    parser_->add(names, values, help, each)->delimiter(',');
}

void command_line::flag(const std::string& name, bool& value, const std::string& help) {
    parser_->app.add_flag(name, value, help);
}

bool command_line::given(const std::string& name) const {
    return parser_->app.count(name) > 0;
}

std::optional<int> command_line::parse(int argc, char** argv) {
    try {
        parser_->app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return parser_->app.exit(error);
    }
    return std::nullopt;
}

} // namespace kiln::examples
