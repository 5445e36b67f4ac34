#pragma once
// The results files of the example programs: JSON objects of numbers, lists of
// numbers, strings and nested objects, in the order they were added. nlohmann-json
// writes the text (json_writer.cpp), so every string is escaped as JSON requires
// (quotes, backslashes, control characters); bytes that are not UTF-8 (a character
// GPT's sample may hold) become U+FFFD, the replacement character, so the file is
// always valid JSON. Files are written through kiln::write_file_atomically: a crash
// never leaves half a file, a failed write leaves nothing, a symbolic link planted
// at the name is replaced, not followed. Compiled once, in json_writer.cpp.
#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace kiln::examples {

class json_object {
public:
    json_object();
    json_object(const json_object& other);
    json_object& operator=(const json_object& other);
    ~json_object();

    // A whole number is written as one (5, not 5.0); NaN and infinities as null.
    json_object& number(const std::string& key, double value);
    json_object& numbers(const std::string& key, const std::vector<double>& values);
    json_object& string(const std::string& key, const std::string& value);
    json_object& object(const std::string& key, const json_object& value);

    // The file's text: indented by two, ending in a newline.
    std::string text() const;
    // Writes text() to `path` atomically. On failure it prints the results on stdout,
    // one line, "results (not saved): {...}", so that they are not lost, and throws
    // std::runtime_error "<path>: results not saved: <why>".
    void write(const std::filesystem::path& path) const;

private:
    std::unique_ptr<nlohmann::ordered_json> value_;
};

} // namespace kiln::examples
