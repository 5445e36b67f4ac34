#include "json_writer.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace kiln::examples {

namespace {
std::string format(double value) {
    if (!std::isfinite(value)) return "null";
    char text[32];
    std::snprintf(text, sizeof text, "%.10g", value);
    return text;
}
} // namespace

json_object& json_object::number(const std::string& key, double value) {
    return raw(key, format(value));
}

json_object& json_object::numbers(const std::string& key, const std::vector<double>& values) {
    std::string text = "[";
    for (std::size_t i = 0; i < values.size(); ++i)
        text += (i ? ", " : "") + format(values[i]);
    return raw(key, text + "]");
}

json_object& json_object::string(const std::string& key, const std::string& value) {
    std::string text = "\"";
    for (char c : value) {
        if (c == '"' || c == '\\') text += '\\';
        if (c == '\n') {
            text += "\\n";
            continue;
        }
        text += c;
    }
    return raw(key, text + "\"");
}

json_object& json_object::object(const std::string& key, const json_object& value) {
    std::string text = "{\n  ";
    for (char c : value.body_)
        text += c == '\n' ? std::string("\n  ") : std::string(1, c);
    return raw(key, text + "\n  }");
}

void json_object::write(const std::filesystem::path& path) const {
    const std::filesystem::path temporary = path.string() + ".tmp";
    {
        std::ofstream out(temporary);
        out << "{\n" << body_ << "\n}\n";
        out.flush();
        if (!out) throw std::runtime_error(path.string() + ": cannot write the results file");
    }
    std::filesystem::rename(temporary, path);
}

json_object& json_object::raw(const std::string& key, const std::string& value) {
    if (!body_.empty()) body_ += ",\n";
    body_ += "  \"" + key + "\": " + value;
    return *this;
}

} // namespace kiln::examples
