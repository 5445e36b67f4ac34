#pragma once
// How every example program ends on an error: one line on stderr,
// "<program>: error: <what happened>", and an exit code that says which kind:
// 3 when training stopped on a NaN or an infinity (the line names the step and
// the layer; the last checkpoint is the last good epoch's), 1 for anything else.
#include <kiln/train/check_finite.hpp>

#include <cstdio>
#include <exception>
#include <new>

#include <unistd.h>

namespace kiln::examples {

// Exit codes besides 0 (success) and 1 (any other error).
inline constexpr int exit_diverged = 3;

// Runs a program's work and returns its exit code.
template <class Work>
int run_reporting_errors(const char* program, Work&& work) {
    try {
        return work();
    } catch (const kiln::non_finite_error& failure) {
        if (isatty(fileno(stdout))) std::fputc('\n', stdout); // after a progress bar
        std::fflush(stdout);
        std::fprintf(stderr, "%s: error: %s\n", program, failure.what());
        return exit_diverged;
    } catch (const std::bad_alloc&) {
        std::fflush(stdout);
        std::fprintf(stderr, "%s: error: out of memory\n", program);
        return 1;
    } catch (const std::exception& failure) {
        std::fflush(stdout);
        std::fprintf(stderr, "%s: error: %s\n", program, failure.what());
        return 1;
    }
}

} // namespace kiln::examples
