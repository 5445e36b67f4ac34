#pragma once
// The few JSON shapes the example programs write (numbers, lists of numbers,
// strings), written atomically: a temporary file, then a rename, so a crash never
// leaves half a results file. Compiled once, in json_writer.cpp.
#include <filesystem>
#include <string>
#include <vector>

namespace kiln::examples {

class json_object {
public:
    json_object& number(const std::string& key, double value);
    json_object& numbers(const std::string& key, const std::vector<double>& values);
    json_object& string(const std::string& key, const std::string& value);
    // A nested object, indented one level deeper.
    json_object& object(const std::string& key, const json_object& value);

    void write(const std::filesystem::path& path) const;

private:
    json_object& raw(const std::string& key, const std::string& value);
    std::string body_;
};

} // namespace kiln::examples
