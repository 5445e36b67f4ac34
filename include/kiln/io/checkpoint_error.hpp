#pragma once
// kiln::checkpoint_error: the one exception every checkpoint problem throws (a
// file that is missing, truncated, corrupt, of a newer format, or for another
// network or scalar type; a failed save). Its message is a single line,
// "<file>: <problem>", as kiln::data::data_error's is.
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kiln {

struct checkpoint_error : std::runtime_error {
    checkpoint_error(const std::filesystem::path& file, std::string_view problem)
        : std::runtime_error(one_line(file.string() + ": " + std::string(problem))), file_(file) {}

    const std::filesystem::path& file() const noexcept { return file_; }

private:
    // A file name may hold a newline; the message must not.
    static std::string one_line(std::string text) {
        for (char& c : text)
            if (c == '\n' || c == '\r') c = ' ';
        return text;
    }
    std::filesystem::path file_;
};

} // namespace kiln
