#pragma once
// How kiln writes numbers into names and shapes ("28, 28", "(28, 28)",
// "linear<10>") for summaries and messages. The text is built here, by plain
// functions that compile once per program; a shape or layer type only hands over
// its numbers. Built in each type's own function, the same string code compiled
// once per shape and per layer, at the build's -O3 (docs/compile-time.md).
#include <charconv>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace kiln {

// "28, 28"
[[gnu::cold, gnu::noinline]] inline std::string
comma_list(std::initializer_list<std::size_t> numbers) {
    std::string text;
    for (const std::size_t number : numbers) {
        if (!text.empty()) text += ", ";
        text += std::to_string(number);
    }
    return text;
}

// open + "28, 28" + close: bracketed("(", {28, 28}, ")") is "(28, 28)".
[[gnu::cold, gnu::noinline]] inline std::string
bracketed(std::string_view open, std::initializer_list<std::size_t> numbers,
          std::string_view close) {
    std::string text(open);
    text += comma_list(numbers);
    text += close;
    return text;
}

// open + the shortest text that reads back as number + close:
// with_number("leaky_relu<", 0.01, ">") is "leaky_relu<0.01>".
[[gnu::cold, gnu::noinline]] inline std::string with_number(std::string_view open, double number,
                                                            std::string_view close) {
    char digits[32];
    const auto end = std::to_chars(digits, digits + sizeof digits, number).ptr;
    std::string text(open);
    text.append(digits, end);
    text += close;
    return text;
}

} // namespace kiln
