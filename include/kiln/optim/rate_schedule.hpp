#pragma once
// Learning-rate schedules: small values that say the rate of step t (counted
// from 0) given the optimizer's own rate, the base. Each is PyTorch's scheduler
// of the same shape, in its closed form (PyTorch steps most of them by a
// recurrence, which agrees to rounding: test/test_schedules.cpp):
//   step_decay        StepLR(step_size = period, gamma = factor)
//   cosine_annealing  CosineAnnealingLR(T_max = steps, eta_min = floor), held at
//                     the floor after `steps` (PyTorch's rises again: a cosine)
//   linear_warmup     LinearLR(start_factor, end_factor, total_iters = steps)
//   warmup_cosine     SequentialLR of LinearLR(start_factor, 1, warmup_steps) and
//                     CosineAnnealingLR(total_steps - warmup_steps, floor)
// kiln::rate_schedule holds any of them, or none; the trainer applies it before
// every step (train/trainer.hpp) and a checkpoint keeps its settings and the
// step count (train/checkpoint.hpp). Settings are checked when a rate_schedule
// is made from them, with a one-line std::invalid_argument.
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <numbers>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

namespace kiln {

namespace detail {
// One setting, for messages and checkpoints.
struct schedule_setting {
    const char* name;
    double value;
};
[[gnu::cold]] inline void require_schedule(bool holds, std::string_view schedule,
                                           std::string_view rule) {
    if (!holds)
        throw std::invalid_argument("kiln::" + std::string(schedule) + ": " + std::string(rule));
}
inline bool is_fraction(double x, bool zero_allowed) {
    return (zero_allowed ? x >= 0.0 : x > 0.0) && x <= 1.0;
}
// floor + (base - floor) (1 + cos(pi t / steps)) / 2, then the floor.
inline double cosine_between(double base, double floor, std::uint64_t t,
                             std::uint64_t steps) noexcept {
    if (t >= steps) return floor;
    const double angle = std::numbers::pi * static_cast<double>(t) / static_cast<double>(steps);
    return floor + (base - floor) * (1.0 + std::cos(angle)) / 2.0;
}
} // namespace detail

// The rate times `factor` every `period` steps.
struct step_decay {
    std::uint64_t period = 0;
    double factor = 0.1;

    static constexpr std::string_view name = "step_decay";
    double rate(std::uint64_t step, double base) const noexcept {
        return base * std::pow(factor, static_cast<double>(step / period));
    }
    void check() const {
        detail::require_schedule(period >= 1, name, "the period must be at least 1 step");
        detail::require_schedule(detail::is_fraction(factor, false), name,
                                 "the factor must be in (0, 1]");
    }
    std::array<detail::schedule_setting, 2> settings() const noexcept {
        return {{{"period", static_cast<double>(period)}, {"factor", factor}}};
    }
};

// From the base down to `floor` along half a cosine over `steps` steps.
struct cosine_annealing {
    std::uint64_t steps = 0;
    double floor = 0.0;

    static constexpr std::string_view name = "cosine_annealing";
    double rate(std::uint64_t step, double base) const noexcept {
        return detail::cosine_between(base, floor, step, steps);
    }
    void check() const {
        detail::require_schedule(steps >= 1, name, "the steps must be at least 1");
        detail::require_schedule(floor >= 0.0 && std::isfinite(floor), name,
                                 "the floor must be a finite rate >= 0");
    }
    std::array<detail::schedule_setting, 2> settings() const noexcept {
        return {{{"steps", static_cast<double>(steps)}, {"floor", floor}}};
    }
};

// The base times a factor going in a line from start_factor to end_factor over
// `steps` steps, then end_factor.
struct linear_warmup {
    std::uint64_t steps = 0;
    double start_factor = 1.0 / 3.0;
    double end_factor = 1.0;

    static constexpr std::string_view name = "linear_warmup";
    double rate(std::uint64_t step, double base) const noexcept {
        const double done = static_cast<double>(step < steps ? step : steps);
        return base *
               (start_factor + (end_factor - start_factor) * done / static_cast<double>(steps));
    }
    void check() const {
        detail::require_schedule(steps >= 1, name, "the steps must be at least 1");
        detail::require_schedule(detail::is_fraction(start_factor, false), name,
                                 "the start factor must be in (0, 1]");
        detail::require_schedule(detail::is_fraction(end_factor, true), name,
                                 "the end factor must be in [0, 1]");
    }
    std::array<detail::schedule_setting, 3> settings() const noexcept {
        return {{{"steps", static_cast<double>(steps)},
                 {"start_factor", start_factor},
                 {"end_factor", end_factor}}};
    }
};

// A linear warm-up from start_factor times the base to the base over
// warmup_steps, then cosine annealing to `floor` by total_steps.
struct warmup_cosine {
    std::uint64_t warmup_steps = 0;
    std::uint64_t total_steps = 0;
    double start_factor = 1.0 / 3.0;
    double floor = 0.0;

    static constexpr std::string_view name = "warmup_cosine";
    double rate(std::uint64_t step, double base) const noexcept {
        if (step < warmup_steps)
            return base * (start_factor + (1.0 - start_factor) * static_cast<double>(step) /
                                              static_cast<double>(warmup_steps));
        return detail::cosine_between(base, floor, step - warmup_steps, total_steps - warmup_steps);
    }
    void check() const {
        if (warmup_steps >= total_steps) // the message is made only for the error
            detail::require_schedule(false, name,
                                     "the warm-up (" + std::to_string(warmup_steps) +
                                         " steps) must be shorter than the total (" +
                                         std::to_string(total_steps) + " steps)");
        detail::require_schedule(detail::is_fraction(start_factor, false), name,
                                 "the start factor must be in (0, 1]");
        detail::require_schedule(floor >= 0.0 && std::isfinite(floor), name,
                                 "the floor must be a finite rate >= 0");
    }
    std::array<detail::schedule_setting, 4> settings() const noexcept {
        return {{{"warmup_steps", static_cast<double>(warmup_steps)},
                 {"total_steps", static_cast<double>(total_steps)},
                 {"start_factor", start_factor},
                 {"floor", floor}}};
    }
};

// One of the schedules above, or none (the default: the optimizer's rate is left
// as it is, for the user to set). Checked as it is made.
class rate_schedule {
public:
    rate_schedule() = default;
    template <class Schedule>
    requires requires(const Schedule& s) { s.check(); }
    rate_schedule(const Schedule& schedule) : schedule_(schedule) { schedule.check(); }

    bool is_none() const noexcept { return std::holds_alternative<none>(schedule_); }
    // The rate of step `step` (from 0) for an optimizer whose own rate is `base`.
    double rate(std::uint64_t step, double base) const noexcept {
        return std::visit(
            [&](const auto& s) {
                if constexpr (std::is_same_v<std::decay_t<decltype(s)>, none>)
                    return base;
                else
                    return s.rate(step, base);
            },
            schedule_);
    }

    // For checkpoints and messages: the name ("none" for none), the settings'
    // values in order, and both as text ("cosine_annealing{steps 1000, floor 1e-05}").
    [[gnu::cold]] std::string name() const {
        return std::visit([](const auto& s) { return std::string(s.name); }, schedule_);
    }
    [[gnu::cold]] std::vector<double> values() const {
        std::vector<double> out;
        std::visit(
            [&](const auto& s) {
                for (const auto& setting : s.settings())
                    out.push_back(setting.value);
            },
            schedule_);
        return out;
    }
    [[gnu::cold]] std::string text() const { return text_of(name(), values()); }
    // The text of the schedule called `name` with these values (a checkpoint's), the
    // values named when `name` is one of kiln's and their count is its settings'.
    [[gnu::cold]] static std::string text_of(const std::string& name,
                                             const std::vector<double>& values) {
        std::vector<std::string> names(values.size());
        std::apply(
            [&](const auto&... schedules) {
                const auto take = [&](const auto& s) {
                    if (s.name != name || s.settings().size() != values.size()) return;
                    for (std::size_t i = 0; i < values.size(); ++i)
                        names[i] = s.settings()[i].name + std::string(" ");
                };
                (take(schedules), ...);
            },
            all_kinds{});
        std::string out = name;
        for (std::size_t i = 0; i < values.size(); ++i) {
            char value[32];
            std::snprintf(value, sizeof value, "%.7g", values[i]);
            out += (i == 0 ? "{" : ", ") + names[i] + value;
        }
        return out + (values.empty() ? "" : "}");
    }

private:
    struct none {
        static constexpr std::string_view name = "none";
        std::array<detail::schedule_setting, 0> settings() const noexcept { return {}; }
    };
    std::variant<none, step_decay, cosine_annealing, linear_warmup, warmup_cosine> schedule_;
    // One of every kind, for text_of.
    using all_kinds = std::tuple<none, step_decay, cosine_annealing, linear_warmup, warmup_cosine>;
};

} // namespace kiln
