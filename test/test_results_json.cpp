// The example programs' results files (examples/common/json_writer.hpp): strict
// JSON whatever a string holds (control characters, quotes, bytes that are not
// UTF-8, which become U+FFFD), numbers as written (whole numbers as integers,
// NaN and infinities as null), written atomically: nothing left behind by a write
// that fails, no symbolic link followed.
#include "support/temp_dir.hpp"

#include <json_writer.hpp>

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using kiln::testing::temp_dir;

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

TEST_SUITE("results_json") {
    TEST_CASE("any string becomes valid JSON: escapes, and U+FFFD for bytes that are not UTF-8") {
        std::string control;
        for (int c = 0; c < 0x20; ++c)
            control += static_cast<char>(c);
        control += "\"\\\x7f/";
        const std::string valid = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5"; // café € 🔥
        kiln::examples::json_object o;
        o.string("control", control)
            .string("valid", valid)
            .string("lone continuation", "a\x80z")
            .string("cut short", "a\xe2\x82")
            .string("overlong", "\xc0\xaf")
            .string("surrogate", "\xed\xa0\x80");
        const std::string text = o.text();
        nlohmann::json parsed;
        REQUIRE_NOTHROW(parsed = nlohmann::json::parse(text)); // strict: UTF-8 checked
        CHECK(parsed["control"] == control);
        CHECK(parsed["valid"] == valid);
        CHECK(parsed["lone continuation"] == "a\xef\xbf\xbdz");
        CHECK(parsed["cut short"] == "a\xef\xbf\xbd");
        CHECK(parsed["overlong"] == "\xef\xbf\xbd\xef\xbf\xbd");
        CHECK(parsed["surrogate"] == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
        CHECK(text.find('\x01') == std::string::npos);
    }

    TEST_CASE("numbers: exact, whole numbers as integers, NaN and infinities as null") {
        kiln::examples::json_object inner;
        inner.number("third", 1.0 / 3.0);
        kiln::examples::json_object o;
        o.number("count", 42)
            .number("accuracy", 0.8765)
            .number("nan", std::numeric_limits<double>::quiet_NaN())
            .numbers("list", {1, -0.5, std::numeric_limits<double>::infinity(), 1e300, 0x1p60})
            .object("inner", inner);
        const std::string text = o.text();
        CHECK(text.find("\"count\": 42,") != std::string::npos);
        const auto parsed = nlohmann::json::parse(text);
        CHECK(parsed["count"].is_number_integer());
        CHECK(parsed["accuracy"].get<double>() == 0.8765);
        CHECK(parsed["nan"].is_null());
        CHECK(parsed["list"][2].is_null());
        CHECK(parsed["list"][3].get<double>() == 1e300);
        CHECK(parsed["list"][4].get<double>() == 0x1p60);
        CHECK(parsed["inner"]["third"].get<double>() == 1.0 / 3.0);
        // Keys keep the order they were added in.
        CHECK(text.find("\"count\"") < text.find("\"accuracy\""));
        CHECK(text.find("\"list\"") < text.find("\"inner\""));
    }

    TEST_CASE("a results file replaces a link planted at its name, and a failed write leaves "
              "nothing") {
        temp_dir dir;
        const fs::path victim = dir / "victim.txt";
        std::ofstream(victim) << "precious\n";
        fs::create_directory(dir / "out");
        const fs::path results = dir / "out" / "results.json";
        fs::create_symlink(victim, results);
        kiln::examples::json_object o;
        o.number("test", 0.5).string("sample", std::string(200, 'x'));
        o.write(results);
        CHECK(read_text(victim) == "precious\n");
        CHECK(fs::is_regular_file(fs::symlink_status(results)));
        CHECK(nlohmann::json::parse(read_text(results))["test"] == 0.5);

        // The file system refuses to let a file grow past 64 bytes, as a full disk would.
        fs::remove(results);
        struct rlimit old {};
        getrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, SIG_IGN);
        struct rlimit small = old;
        small.rlim_cur = 64;
        setrlimit(RLIMIT_FSIZE, &small);
        std::string message;
        try {
            o.write(results);
        } catch (const std::exception& failure) {
            message = failure.what();
        }
        setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, SIG_DFL);
        CHECK(message.find("results not saved") != std::string::npos);
        CHECK(message.find("File too large") != std::string::npos);
        CHECK(fs::is_empty(dir / "out"));
    }
}
