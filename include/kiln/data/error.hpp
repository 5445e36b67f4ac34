#pragma once
// kiln::data::data_error: the one exception every data problem throws. Its message
// is a single line, "<file>: <problem>", so a log or a test can show it as is.
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kiln::data {

struct data_error : std::runtime_error {
    using std::runtime_error::runtime_error;

    data_error(const std::filesystem::path& file, std::string_view problem)
        : std::runtime_error(one_line(file.string() + ": " + std::string(problem))) {}

private:
    // A file name may hold a newline; the message must not.
    static std::string one_line(std::string text) {
        for (char& c : text)
            if (c == '\n' || c == '\r') c = ' ';
        return text;
    }
};

} // namespace kiln::data
