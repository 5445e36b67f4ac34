#pragma once
// What kiln's objects put in a checkpoint (io/checkpoint_file.hpp), and how they
// take it back: store(checkpoint, x) and restore(checkpoint, x) for a model, an
// SGD or AdamW state, a trainer (both), a kiln::rng and an early_stopping; save_model and
// load_model for a file that holds a model alone; store and expect_same_data for
// the fingerprint of the data a run reads. A run that stores all of them,
// plus its own counters and data order, can resume exactly where it stopped.
//
//   auto state = kiln::checkpoint::of<mlp, float>();
//   kiln::store(state, train);           // parameters, SGD settings and velocity
//   kiln::store(state, random);          // the generator that shuffles
//   state.put_value("epoch", epoch);
//   state.save(path);                    // atomic
//
//   const auto state = kiln::checkpoint::load<mlp, float>(path);   // checks everything
//   kiln::restore(state, train);  kiln::restore(state, random);
//   epoch = state.get_value<std::uint64_t>("epoch");
#include "kiln/core/rng.hpp"
#include "kiln/data/fingerprint.hpp"
#include "kiln/graph/model.hpp"
#include "kiln/graph/parameter_table.hpp"
#include "kiln/graph/visit.hpp"
#include "kiln/io/checkpoint_file.hpp"
#include "kiln/optim/adamw.hpp"
#include "kiln/optim/rate_schedule.hpp"
#include "kiln/optim/sgd.hpp"
#include "kiln/train/early_stopping.hpp"
#include "kiln/train/trainer.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

namespace detail {
// A setting as a person would type it: 0.01, not 0.0099999997764825821.
[[gnu::cold]] inline std::string setting_text(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.7g", value);
    return text;
}
} // namespace detail

// --- A model: its flat parameter buffer, padding included ("parameters"), and
// the table of its tensors ("parameters.parts": graph/parameter_table.hpp) that
// other programs read it by; restore needs the buffer alone.
template <class Net, class T>
[[gnu::cold]] void store(checkpoint& state, const model<Net, T>& net,
                         std::string_view name = "parameters") {
    state.expect<Net, T>();
    state.put(name, net.parameters());
    state.put_text(std::string(name) + ".parts", parameter_table<Net>());
}
// A file's values must be finite: a NaN or an infinity restored would not fail
// until training had spoiled every layer after it, and relu maps a NaN to 0, so
// the loss need never show it (docs/reliability.md). Refuses the first
// non-finite value of section `name`, named by `where(index)` when given (a
// parameter-shaped section: which layer and tensor), else by its index.
template <class T>
[[gnu::cold]] void require_finite(const checkpoint& state, std::string_view name,
                                  std::span<const T> values,
                                  std::string (*where)(std::size_t) = nullptr) {
    for (std::size_t i = 0; i < values.size(); ++i)
        if (!std::isfinite(values[i]))
            state.fail("section '" + std::string(name) + "' holds " +
                       (std::isnan(values[i]) ? "NaN" : "an infinity") + " at " +
                       (where ? where(i) : "value " + std::to_string(i)) +
                       ": it cannot be resumed (the run that wrote it had diverged, or the file "
                       "was altered)");
}
template <class T>
[[gnu::cold]] void require_finite(const checkpoint& state, std::string_view name,
                                  std::span<T> values,
                                  std::string (*where)(std::size_t) = nullptr) {
    require_finite(state, name, std::span<const T>(values), where);
}

template <class Net, class T>
[[gnu::cold]] void restore(const checkpoint& state, model<Net, T>& net,
                           std::string_view name = "parameters") {
    state.expect<Net, T>();
    state.get(name, net.parameters());
    require_finite(state, name, net.parameters(), &describe_parameter<Net>);
}

// An optimizer's rate of the next step (set_learning_rate, a schedule), beside its
// settings. A file written before kiln kept it holds none: the settings' rate.
template <class State>
[[gnu::cold]] void store_learning_rate(checkpoint& state, const State& optimizer,
                                       const std::string& name) {
    state.put_value(name + ".learning_rate", optimizer.learning_rate());
}
template <class State>
[[gnu::cold]] void restore_learning_rate(const checkpoint& state, State& optimizer,
                                         const std::string& name) {
    const std::string section = name + ".learning_rate";
    if (!state.has(section)) return;
    const auto rate = state.get_value<double>(section);
    if (!(rate >= 0.0 && std::isfinite(rate)))
        state.fail("section '" + section + "' holds " + detail::setting_text(rate) +
                   ", not a learning rate: the file was altered");
    optimizer.set_learning_rate(rate);
}

// --- SGD: its settings (as the state holds them, in T), rate and velocity ---------
template <class T>
[[gnu::cold]] std::array<double, 2> settings_in_t(const sgd::state<T>& optimizer) {
    return {static_cast<double>(static_cast<T>(optimizer.settings().learning_rate)),
            static_cast<double>(optimizer.momentum())};
}
template <class T>
[[gnu::cold]] void store(checkpoint& state, const sgd::state<T>& optimizer) {
    const std::array<double, 2> settings = settings_in_t(optimizer);
    state.put_text("optimizer", sgd::name());
    state.put("sgd.settings", std::span<const double>(settings));
    store_learning_rate(state, optimizer, sgd::name());
    state.put("sgd.velocity", optimizer.velocity());
}
// Resuming with other settings would not continue the same run: refused.
template <class T>
[[gnu::cold]] void restore(const checkpoint& state, sgd::state<T>& optimizer) {
    if (const auto name = state.get_text("optimizer"); name != sgd::name())
        state.fail("the file holds the state of optimizer '" + name + "', this program uses " +
                   sgd::name());
    std::array<double, 2> settings{};
    state.get("sgd.settings", std::span<double>(settings));
    const std::array<double, 2> here = settings_in_t(optimizer);
    if (settings != here)
        state.fail("the file was trained with sgd{learning_rate " +
                   detail::setting_text(settings[0]) + ", momentum " +
                   detail::setting_text(settings[1]) + "}, this program's optimizer is sgd{" +
                   "learning_rate " + detail::setting_text(here[0]) + ", momentum " +
                   detail::setting_text(here[1]) +
                   "}: resume with the same settings, or restore the model alone");
    restore_learning_rate(state, optimizer, sgd::name());
    state.get("sgd.velocity", optimizer.velocity());
    require_finite(state, "sgd.velocity", optimizer.velocity());
}

// --- AdamW: its settings, rate, step count and both moments ------------------------
template <class T>
[[gnu::cold]] void store(checkpoint& state, adamw::state<T>& optimizer) {
    const adamw s = optimizer.settings();
    const std::array<double, 5> settings{s.learning_rate, s.beta1, s.beta2, s.eps, s.weight_decay};
    state.put_text("optimizer", adamw::name());
    state.put("adamw.settings", std::span<const double>(settings));
    store_learning_rate(state, optimizer, adamw::name());
    state.put_value("adamw.steps", optimizer.steps());
    state.put("adamw.first_moment", optimizer.first_moment());
    state.put("adamw.second_moment", optimizer.second_moment());
}
// Resuming with other settings would not continue the same run: refused.
template <class T>
[[gnu::cold]] void restore(const checkpoint& state, adamw::state<T>& optimizer) {
    if (const auto name = state.get_text("optimizer"); name != adamw::name())
        state.fail("the file holds the state of optimizer '" + name + "', this program uses " +
                   adamw::name());
    std::array<double, 5> settings{};
    state.get("adamw.settings", std::span<double>(settings));
    const adamw s = optimizer.settings();
    if (settings != std::array<double, 5>{s.learning_rate, s.beta1, s.beta2, s.eps, s.weight_decay})
        state.fail("the file was trained with adamw{learning_rate " +
                   detail::setting_text(settings[0]) + ", betas " +
                   detail::setting_text(settings[1]) + "/" + detail::setting_text(settings[2]) +
                   ", eps " + detail::setting_text(settings[3]) + ", weight_decay " +
                   detail::setting_text(settings[4]) +
                   "}, which differs from this program's: resume with the same settings, or "
                   "restore the model alone");
    restore_learning_rate(state, optimizer, adamw::name());
    optimizer.set_steps(state.get_value<std::uint64_t>("adamw.steps"));
    state.get("adamw.first_moment", optimizer.first_moment());
    state.get("adamw.second_moment", optimizer.second_moment());
    require_finite(state, "adamw.first_moment", optimizer.first_moment());
    require_finite(state, "adamw.second_moment", optimizer.second_moment());
    // A mean of squares: a negative one would be NaN under the square root.
    const auto second = optimizer.second_moment();
    for (std::size_t i = 0; i < second.size(); ++i)
        if (second[i] < 0)
            state.fail("section 'adamw.second_moment' holds a negative value at value " +
                       std::to_string(i) + " (a mean of squares): the file was altered");
}

// --- A trainer: its model, its optimizer and its training controls -----------------
// The controls: the schedule's name and settings, the steps taken (the schedule's
// position, and dropout's with the seed) and the maximum gradient norm. A file
// written before kiln kept them stands for no schedule, no clipping, step 0 and seed 0.
// store_progress and restore_progress keep everything but the model's parameters
// (a data-parallel trainer sends those apart, distributed/data_parallel.hpp).
template <class Net, class Loss, class Optimizer, class T>
[[gnu::cold]] void store_progress(checkpoint& state, trainer<Net, Loss, Optimizer, T>& train) {
    store(state, train.optimizer());
    state.put_text("schedule", train.schedule().name());
    state.put("schedule.settings", train.schedule().values());
    state.put_value("trainer.steps", train.steps());
    state.put_value("trainer.seed", train.seed());
    state.put_value("trainer.max_gradient_norm", train.max_gradient_norm());
}
template <class Net, class Loss, class Optimizer, class T>
[[gnu::cold]] void store(checkpoint& state, trainer<Net, Loss, Optimizer, T>& train) {
    store(state, train.net());
    store_progress(state, train);
}
// Resuming with another schedule or clipping would not continue the same run: refused.
template <class Net, class Loss, class Optimizer, class T>
[[gnu::cold]] void restore_progress(const checkpoint& state,
                                    trainer<Net, Loss, Optimizer, T>& train) {
    restore(state, train.optimizer());
    const rate_schedule& here = train.schedule();
    const bool kept = state.has("schedule");
    const std::string name = kept ? state.get_text("schedule") : "none";
    const std::vector<double> values =
        kept ? state.get_all<double>("schedule.settings") : std::vector<double>{};
    if (name != here.name() || values != here.values())
        state.fail("the file was trained with learning-rate schedule " +
                   rate_schedule::text_of(name, values) + ", this program's is " + here.text() +
                   ": resume with the same schedule, or restore the model alone");
    const double max_norm = state.has("trainer.max_gradient_norm")
                                ? state.get_value<double>("trainer.max_gradient_norm")
                                : std::numeric_limits<double>::infinity();
    if (max_norm != train.max_gradient_norm())
        state.fail("the file was trained with maximum gradient norm " +
                   detail::setting_text(max_norm) + ", this program's is " +
                   detail::setting_text(train.max_gradient_norm()) +
                   ": resume with the same clipping, or restore the model alone");
    train.set_steps(state.has("trainer.steps") ? state.get_value<std::uint64_t>("trainer.steps")
                                               : 0);
    train.set_seed(state.has("trainer.seed") ? state.get_value<std::uint64_t>("trainer.seed") : 0);
}

template <class Net, class Loss, class Optimizer, class T>
[[gnu::cold]] void restore(const checkpoint& state, trainer<Net, Loss, Optimizer, T>& train) {
    restore(state, train.net());
    restore_progress(state, train);
}

// --- A generator: its four state words ----------------------------------------------
[[gnu::cold]] inline void store(checkpoint& state, const rng& random,
                                std::string_view name = "rng") {
    state.put(name, std::span<const std::uint64_t>(random.state()));
}
[[gnu::cold]] inline void restore(const checkpoint& state, rng& random,
                                  std::string_view name = "rng") {
    std::array<std::uint64_t, 4> words{};
    state.get(name, std::span<std::uint64_t>(words));
    if (words == std::array<std::uint64_t, 4>{})
        state.fail("section '" + std::string(name) +
                   "' holds the all-zero state, which kiln::rng never reaches");
    random.set_state(words);
}

// --- Early stopping: its patience (checked) and its record so far --------------------
[[gnu::cold]] inline void store(checkpoint& state, const early_stopping& stopper) {
    const auto s = stopper.state();
    const std::array<std::uint64_t, 4> counts{stopper.patience(), s.best_epoch, s.epochs, s.waited};
    state.put("early_stopping.counts", std::span<const std::uint64_t>(counts));
    state.put_value("early_stopping.best_score", s.best_score);
}
[[gnu::cold]] inline void restore(const checkpoint& state, early_stopping& stopper) {
    std::array<std::uint64_t, 4> counts{};
    state.get("early_stopping.counts", std::span<std::uint64_t>(counts));
    const auto [patience, best_epoch, epochs, waited] = counts;
    if (patience != stopper.patience())
        state.fail("the file's early stopping has patience " + std::to_string(patience) +
                   ", this program's " + std::to_string(stopper.patience()) +
                   ": resume with the same patience");
    if (best_epoch > epochs || waited > epochs)
        state.fail("corrupt: early stopping's best epoch " + std::to_string(best_epoch) +
                   " or wait " + std::to_string(waited) + " is past its " + std::to_string(epochs) +
                   " epochs");
    const auto best_score = state.get_value<double>("early_stopping.best_score");
    // -infinity before the first epoch, a score after it.
    if (std::isnan(best_score) || best_score == std::numeric_limits<double>::infinity() ||
        (epochs != 0 && !std::isfinite(best_score)))
        state.fail("section 'early_stopping.best_score' holds " + detail::setting_text(best_score) +
                   " after " + std::to_string(epochs) +
                   " epochs: it cannot be resumed (the file was altered)");
    stopper.set_state({best_score, best_epoch, epochs, waited});
}

// --- The data a run reads: a fingerprint per set (data/fingerprint.hpp) -----------------
// Section `name` ("data.train") holds the example count and the two CRC-32s.
[[gnu::cold]] inline void store(checkpoint& state, const data::fingerprint& data,
                                std::string_view name) {
    const std::array<std::uint64_t, 3> values{data.examples, data.inputs_crc32, data.labels_crc32};
    state.put(name, std::span<const std::uint64_t>(values));
}
// Refuses a checkpoint whose run read other data under `name`, or that does not say
// what it read (written before kiln recorded it). `override` says how a program
// lets its user resume anyway ("--force_resume"); empty when it does not.
[[gnu::cold]] inline void expect_same_data(const checkpoint& state, const data::fingerprint& here,
                                           std::string_view name, std::string_view override = {}) {
    const std::string or_override =
        override.empty() ? std::string() : ", or " + std::string(override) + " to resume anyway";
    if (!state.has(name))
        state.fail("the file does not record the data its run read (no section '" +
                   std::string(name) +
                   "': written before kiln recorded it); resume with the "
                   "data the run started with" +
                   or_override);
    std::array<std::uint64_t, 3> values{};
    state.get(name, std::span<std::uint64_t>(values));
    if (values[1] > 0xffffffffu || values[2] > 0xffffffffu)
        state.fail("corrupt: section '" + std::string(name) + "' holds a CRC-32 above 2^32");
    const data::fingerprint stored{values[0], static_cast<std::uint32_t>(values[1]),
                                   static_cast<std::uint32_t>(values[2])};
    if (stored != here)
        state.fail("the run read other data: '" + std::string(name) + "' was " + stored.text() +
                   ", here it is " + here.text() + "; resume with the data the run started with" +
                   or_override);
}

// --- Files that hold a model alone ---------------------------------------------------
template <class Net, class T>
[[gnu::cold]] void save_model(const std::filesystem::path& path, const model<Net, T>& net) {
    auto state = checkpoint::of<Net, T>();
    store(state, net);
    state.save(path);
}
template <class Net, class T>
[[gnu::cold]] void load_model(const std::filesystem::path& path, model<Net, T>& net) {
    restore(checkpoint::load<Net, T>(path), net);
}

} // namespace kiln
