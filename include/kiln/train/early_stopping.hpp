#pragma once
// Early stopping on a score that should rise (validation accuracy), as the course
// defines it: a score equal to the best so far counts as an improvement and
// resets the patience; training stops after `patience` epochs without one.
#include <cstddef>
#include <limits>

namespace kiln {

class early_stopping {
public:
    // patience 0 never stops.
    explicit early_stopping(std::size_t patience) : patience_(patience) {}

    // Records one epoch's score; true when it is the best so far (ties included).
    bool record(double score) noexcept {
        ++epochs_;
        if (score >= best_score_) {
            best_score_ = score;
            best_epoch_ = epochs_;
            waited_ = 0;
            return true;
        }
        ++waited_;
        return false;
    }

    bool should_stop() const noexcept { return patience_ != 0 && waited_ >= patience_; }
    double best_score() const noexcept { return best_score_; }
    // 1-based; 0 before any epoch.
    std::size_t best_epoch() const noexcept { return best_epoch_; }
    std::size_t epochs() const noexcept { return epochs_; }
    std::size_t patience() const noexcept { return patience_; }

    // Everything that decides the next record(), for checkpoints (rng's state() and
    // set_state() do the same).
    struct snapshot {
        double best_score;
        std::size_t best_epoch, epochs, waited;
    };
    snapshot state() const noexcept { return {best_score_, best_epoch_, epochs_, waited_}; }
    void set_state(const snapshot& s) noexcept {
        best_score_ = s.best_score;
        best_epoch_ = s.best_epoch;
        epochs_ = s.epochs;
        waited_ = s.waited;
    }

private:
    std::size_t patience_;
    double best_score_ = -std::numeric_limits<double>::infinity();
    std::size_t best_epoch_ = 0;
    std::size_t epochs_ = 0;
    std::size_t waited_ = 0;
};

} // namespace kiln
