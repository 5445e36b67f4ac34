#include "json_writer.hpp"

#include <kiln/io/atomic_file.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <system_error>

namespace kiln::examples {

namespace {
nlohmann::ordered_json number_value(double value) {
    // Whole numbers below 2^53 are exact in a double: counts stay integers.
    if (std::isfinite(value) && value == std::floor(value) && std::abs(value) < 0x1p53)
        return static_cast<std::int64_t>(value);
    return value; // nlohmann writes NaN and infinities as null
}

// Strict UTF-8 would throw on a byte that is not UTF-8; `replace` writes U+FFFD instead.
std::string dump(const nlohmann::ordered_json& value, int indent) {
    return value.dump(indent, ' ', /*ensure_ascii=*/false,
                      nlohmann::ordered_json::error_handler_t::replace);
}
} // namespace

json_object::json_object()
    : value_(std::make_unique<nlohmann::ordered_json>(nlohmann::ordered_json::object())) {}
json_object::json_object(const json_object& other)
    : value_(std::make_unique<nlohmann::ordered_json>(*other.value_)) {}
json_object& json_object::operator=(const json_object& other) {
    *value_ = *other.value_;
    return *this;
}
json_object::~json_object() = default;

json_object& json_object::number(const std::string& key, double value) {
    (*value_)[key] = number_value(value);
    return *this;
}

json_object& json_object::numbers(const std::string& key, const std::vector<double>& values) {
    auto list = nlohmann::ordered_json::array();
    for (const double value : values)
        list.push_back(number_value(value));
    (*value_)[key] = std::move(list);
    return *this;
}

json_object& json_object::string(const std::string& key, const std::string& value) {
    (*value_)[key] = value;
    return *this;
}

json_object& json_object::object(const std::string& key, const json_object& value) {
    (*value_)[key] = *value.value_;
    return *this;
}

std::string json_object::text() const {
    return dump(*value_, 2) + "\n";
}

void json_object::write(const std::filesystem::path& path) const {
    const std::string contents = text();
    try {
        kiln::write_file_atomically(path, std::as_bytes(std::span(contents)));
    } catch (const std::system_error& failure) {
        std::printf("results (not saved): %s\n", dump(*value_, -1).c_str());
        std::fflush(stdout);
        throw std::runtime_error(path.string() + ": results not saved: " + failure.what());
    }
}

} // namespace kiln::examples
