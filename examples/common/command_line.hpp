#pragma once
// The examples' command lines: options and flags whose values are checked, with
// messages a person can read ("--minibatch_size: must be a whole number >= 1, got 0").
// Numbers are decimal only (no hexadecimal, octal, inf or nan, no spaces) and a
// refusal says the valid range.
//
// CLI11 parses behind this interface, compiled once in command_line.cpp: its header
// alone costs a program about 7 s of g++ -O2, half of what compiling examples/mlp.cpp
// took while each program included it.
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln::examples {

// What an option's value must be; checked as the command line is parsed.
struct value_check {
    enum class kind {
        anything,
        number_in,       // a finite decimal number in [low, high], or [low, high) when high_open
        at_least,        // a finite decimal number >= low
        whole_number,    // decimal digits only (no sign, point or exponent), in [least, most]
        file_to_write,   // a file in an existing folder that can take a new file now
        folder_to_write, // an existing folder that can take a new file now
        existing_folder,
        existing_file,
        one_of, // one of choices
    };
    kind what = kind::anything;
    double low = 0, high = 0;
    bool high_open = false;
    unsigned long long least = 0;
    // Also bounded by the largest value of the option's type (an int's 2^31 - 1).
    unsigned long long most = ~0ULL;
    std::vector<std::string> choices;
};

inline value_check number_in(double low, double high, bool high_open = false) {
    return {value_check::kind::number_in, low, high, high_open, 0, ~0ULL, {}};
}
inline value_check at_least(double low) {
    return {value_check::kind::at_least, low, 0, false, 0, ~0ULL, {}};
}
// For counts and seeds: a whole number in [least, 2^64 - 1] (or the option type's largest).
inline value_check whole_number_at_least(unsigned long long least) {
    return {value_check::kind::whole_number, 0, 0, false, least, ~0ULL, {}};
}
// A whole number in [least, most].
inline value_check whole_number_in(unsigned long long least, unsigned long long most) {
    return {value_check::kind::whole_number, 0, 0, false, least, most, {}};
}
// A file the program will write: its folder must exist and take a new file (checked
// by creating one, as the write will), and it must not be a folder. Every option
// that names where a program writes uses this or folder_to_write, so that a run
// never learns at its end that its results cannot be saved.
inline value_check file_to_write() {
    return {value_check::kind::file_to_write, 0, 0, false, 0, ~0ULL, {}};
}
// A folder the program will write files in: it must exist and take a new file.
inline value_check folder_to_write() {
    return {value_check::kind::folder_to_write, 0, 0, false, 0, ~0ULL, {}};
}
inline value_check existing_folder() {
    return {value_check::kind::existing_folder, 0, 0, false, 0, ~0ULL, {}};
}
inline value_check existing_file() {
    return {value_check::kind::existing_file, 0, 0, false, 0, ~0ULL, {}};
}
inline value_check one_of(std::vector<std::string> choices) {
    return {value_check::kind::one_of, 0, 0, false, 0, ~0ULL, std::move(choices)};
}

// A program's command line. Options bind to variables whose values are the defaults
// that --help shows; parse() writes what the user gave into them.
class command_line {
public:
    explicit command_line(const std::string& description);
    ~command_line();
    command_line(const command_line&) = delete;
    command_line& operator=(const command_line&) = delete;

    // names: "--name", or "--name,name" to take the value positionally too.
    void option(const std::string& names, unsigned long& value, const std::string& help,
                const value_check& check = {});
    void option(const std::string& names, unsigned long long& value, const std::string& help,
                const value_check& check = {});
    void option(const std::string& names, int& value, const std::string& help,
                const value_check& check = {});
    void option(const std::string& names, double& value, const std::string& help,
                const value_check& check = {});
    void option(const std::string& names, std::string& value, const std::string& help,
                const value_check& check = {});
    // A comma-separated list; each item is checked.
    void option(const std::string& names, std::vector<std::string>& values, const std::string& help,
                const value_check& each = {});
    void flag(const std::string& name, bool& value, const std::string& help);

    // Whether the user gave this option (a default is not given).
    bool given(const std::string& name) const;

    // Parses argv into the bound variables. Empty: go on. Otherwise the program should
    // return this code now: 0 after --help, nonzero after an error (already printed).
    std::optional<int> parse(int argc, char** argv);

private:
    struct parser;
    std::unique_ptr<parser> parser_;
};

// The course's SGD recipe (SEED.md C, D), as the MLP and the OOD study spell it.
template <class Options>
void add_recipe_options(command_line& cli, Options& opt) {
    cli.option("--minibatch_size", opt.minibatch_size, "examples per SGD step",
               whole_number_at_least(1));
    cli.option("--learning_rate", opt.learning_rate, "SGD learning rate", at_least(0));
    cli.option("--momentum", opt.momentum, "momentum alpha in [0, 1): v <- alpha v + g",
               number_in(0, 1, /*high_open=*/true));
    cli.option("--num_epoch", opt.num_epoch, "maximum number of epochs", whole_number_at_least(1));
    cli.option("--early_stopping_patience", opt.early_stopping_patience,
               "epochs without a better validation accuracy before stopping (0: never stop)",
               whole_number_at_least(0));
}

} // namespace kiln::examples
