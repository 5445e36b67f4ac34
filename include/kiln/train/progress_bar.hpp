#pragma once
// A one-line progress bar. On a terminal it redraws in place as steps finish; in a
// log (not a terminal) it is written once, complete, so logs stay readable.
#include <cstddef>
#include <cstdio>
#include <string>
#include <unistd.h>
#include <utility>

namespace kiln {

class progress_bar {
public:
    progress_bar(std::FILE* out, std::string label, std::size_t total, std::size_t width = 30)
        : out_(out), label_(std::move(label)), total_(total ? total : 1), width_(width),
          interactive_(isatty(fileno(out)) != 0) {}

    // Called after each step; redraws only when the bar grows, to stay cheap.
    void update(std::size_t done) {
        if (!interactive_) return;
        const std::size_t filled = done * width_ / total_;
        if (filled == drawn_ && done != total_) return;
        drawn_ = filled;
        draw(done, '\r');
    }

    // Completes the line; the caller then prints the epoch's numbers after it.
    void finish() {
        draw(total_, interactive_ ? '\r' : '\0');
        std::fputc(' ', out_);
    }

private:
    void draw(std::size_t done, char lead) {
        const std::size_t filled = done * width_ / total_;
        std::string bar(filled, '#');
        bar.resize(width_, '.');
        if (lead) std::fputc(lead, out_);
        std::fprintf(out_, "%s [%s] %zu/%zu", label_.c_str(), bar.c_str(), done, total_);
        std::fflush(out_);
    }

    std::FILE* out_;
    std::string label_;
    std::size_t total_;
    std::size_t width_;
    bool interactive_;
    std::size_t drawn_ = static_cast<std::size_t>(-1);
};

} // namespace kiln
