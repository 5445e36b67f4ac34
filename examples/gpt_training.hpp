#pragma once
// The character GPT's run (examples/gpt.cpp): its options, training one network
// configuration with evaluation and samples, and choosing the configurations a
// command line asks for. Each configuration is a network type of its own, which
// compiles for seconds (alone and data-parallel): gpt.cpp holds the course's (block
// 32, 4 heads) and block 2's, gpt_heads.cpp block 32 with 2 and 8 heads and
// gpt_blocks.cpp blocks 16 and 64, so that no file passes its compile-time budget
// and the build compiles them in parallel.
#include "common/generate_text.hpp"
#include "common/gpt_network.hpp"
#include "common/json_writer.hpp"
#include "common/processes.hpp"

#include <kiln/core/checked_size.hpp>
#include <kiln/data/char_text.hpp>
#include <kiln/kiln.hpp>
#include <kiln/train/check_finite.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

// The build passes the text the repository carries (data/tinyshakespeare.txt);
// compiled by hand, the program looks for it from the checkout's root.
#ifndef KILN_DEFAULT_TEXT
#define KILN_DEFAULT_TEXT "data/tinyshakespeare.txt"
#endif

namespace kiln::examples {

struct gpt_options {
    std::string text = KILN_DEFAULT_TEXT;
    std::size_t block = 32;
    std::size_t heads = 4;
    bool sweep = false;
    bool data_parallel = false;
    std::size_t iterations = 5000;
    std::size_t eval_interval = 100;
    std::size_t eval_iters = 200;
    std::size_t batch = 16;
    double learning_rate = 1e-3;
    std::uint64_t seed = 1337;
    double temperature = 1.0;
    std::uint64_t sample_seed = 7;
    std::size_t sample_length = 500;
    std::string out_dir = ".";
};

using clock_type = std::chrono::steady_clock;
inline double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

// The memory the flags ask for, checked before any of it is allocated, so that
// an impossible size is refused naming its flag rather than wrapping around or
// ending in std::bad_alloc: a training batch of windows and its pass (--batch),
// the windows of one estimate (--eval_iters x --batch), a sample (--sample_length).
template <class Net>
void check_flag_sizes(const gpt_options& opt) {
    constexpr std::size_t block = Net::input_shape::size;
    struct window {
        float ids[block];
        kiln::label_t targets[block];
    };
    struct window_in_training : window {
        float pass[Net::network_runner::saved_per_example];
    };
    (void)kiln::checked_bytes<window_in_training>(opt.batch,
                                                  "--batch " + std::to_string(opt.batch));
    const std::string estimate = "--eval_iters " + std::to_string(opt.eval_iters) + " x --batch " +
                                 std::to_string(opt.batch);
    (void)kiln::checked_bytes<window>(kiln::checked_product(opt.eval_iters, opt.batch, estimate),
                                      estimate);
    const std::string sample = "--sample_length " + std::to_string(opt.sample_length);
    (void)kiln::checked_bytes<float>(kiln::checked_sum(opt.sample_length, 1, sample), sample);
}

// Trains one configuration; returns a line that sums it up.
template <std::size_t Block, std::size_t Heads>
std::string run_gpt(const gpt_options& opt, const kiln::data::char_text& text,
                    const processes& procs) {
    using net_type = gpt<Block, Heads>;
    check_flag_sizes<net_type>(opt);
    kiln::data::require_windows(text.train(), Block, "training");
    kiln::data::require_windows(text.validation(), Block, "validation");
    std::printf("GPT block %zu, heads %zu: %zu parameters\n%s", Block, Heads, net_type::param_count,
                net_type::summary().c_str());

    kiln::rng random(opt.seed);
    kiln::model<net_type> net(kiln::init::pytorch_default{}, random);
    example_trainer<net_type, kiln::sequence_cross_entropy, kiln::adamw> train(
        procs, net, kiln::adamw{.learning_rate = opt.learning_rate}, opt.batch);
    std::vector<float> x(opt.batch * Block);
    std::vector<kiln::label_t> y(opt.batch * Block);
    const kiln::batch_view<kiln::shape<Block>, const float> xs(x.data(), opt.batch);
    // A label per position of a window. Filled by sample_windows with ids of the
    // text, whose vocabulary is the network's: not looked at again.
    const kiln::label_view<gpt_vocabulary, Block> ys(y.data(), opt.batch, kiln::labels_checked);

    const std::string before =
        generate(net, text, opt.sample_length, opt.temperature, opt.sample_seed);
    std::printf("--- sample before training ---\n%s\n------------------------------\n",
                before.c_str());

    // An estimate: the mean loss over eval_iters random batches, drawn first (the
    // same draws as one batch at a time) and then run on every core at once. A
    // loss or a weight that is not finite stops the run (exit code 3).
    kiln::evaluator<net_type, kiln::sequence_cross_entropy> evaluator(opt.batch);
    const std::size_t estimate_windows = opt.eval_iters * opt.batch;
    std::vector<float> estimate_x(estimate_windows * Block);
    std::vector<kiln::label_t> estimate_y(estimate_windows * Block);
    std::size_t done = 0;
    auto estimate = [&](std::span<const std::uint8_t> split, const char* name) {
        for (std::size_t k = 0; k < opt.eval_iters; ++k)
            kiln::data::sample_windows(split, Block, opt.batch, random,
                                       estimate_x.data() + k * opt.batch * Block,
                                       estimate_y.data() + k * opt.batch * Block);
        const kiln::batch_view<kiln::shape<Block>, const float> windows(estimate_x.data(),
                                                                        estimate_windows);
        const double loss =
            procs.mean_loss(evaluator, net, windows,
                            kiln::label_view<gpt_vocabulary, Block>(
                                estimate_y.data(), estimate_windows, kiln::labels_checked));
        kiln::check_finite_evaluation(loss, net, windows, done, name);
        return loss;
    };

    std::vector<double> iterations, train_curve, val_curve;
    double training_seconds = 0;
    const auto start = clock_type::now();
    while (true) {
        if (done % opt.eval_interval == 0 || done == opt.iterations) {
            iterations.push_back(static_cast<double>(done == opt.iterations ? done - 1 : done));
            train_curve.push_back(estimate(text.train(), "random windows of the training split"));
            val_curve.push_back(
                estimate(text.validation(), "random windows of the validation split"));
            std::printf("step %5zu: train loss %.4f, val loss %.4f (%.1f s)\n",
                        static_cast<std::size_t>(iterations.back()), train_curve.back(),
                        val_curve.back(), seconds_since(start));
            std::fflush(stdout);
        }
        if (done == opt.iterations) break;
        const std::size_t chunk_end = std::min(opt.iterations, done + opt.eval_interval);
        kiln::progress_bar bar(stdout, "  training", chunk_end - done);
        const auto chunk_start = clock_type::now();
        for (std::size_t i = done; i < chunk_end; ++i) {
            kiln::data::sample_windows(text.train(), Block, opt.batch, random, x.data(), y.data());
            kiln::check_finite(train.step(xs, ys), train.local(), i + 1);
            bar.update(i + 1 - done);
        }
        training_seconds += seconds_since(chunk_start);
        bar.finish();
        std::fputc('\n', stdout);
        done = chunk_end;
    }
    const double total_seconds = seconds_since(start);

    const std::string after =
        generate(net, text, opt.sample_length, opt.temperature, opt.sample_seed);
    std::printf("--- sample after training ---\n%s\n-----------------------------\n",
                after.c_str());
    std::printf("block %zu, heads %zu: final val loss %.4f; %.1f s in all (training %.1f s)\n",
                Block, Heads, val_curve.back(), total_seconds, training_seconds);

    json_object json;
    json.number("block", Block)
        .number("heads", Heads)
        .number("parameters", net_type::param_count)
        .numbers("iteration", iterations)
        .numbers("train", train_curve)
        .numbers("val", val_curve)
        .number("time", total_seconds)
        .number("training_time", training_seconds)
        .string("sample_before", before)
        .string("sample_after", after);
    const auto path =
        std::filesystem::path(opt.out_dir) /
        ("GPT_block" + std::to_string(Block) + "_heads" + std::to_string(Heads) + ".json");
    if (procs.writes_files()) {
        json.write(path);
        std::printf("wrote %s\n", path.string().c_str());
    }
    train.require_identical("at the end of the run");
    char line[160];
    std::snprintf(line, sizeof line, "block %2zu, heads %zu: final val loss %.4f, %.1f s training",
                  Block, Heads, val_curve.back(), training_seconds);
    return line;
}

// A configuration: one network of the program.
template <std::size_t Block, std::size_t Heads>
struct gpt_config {};

// The configurations a command line asks for, numbered in the order the program
// meets them: a sweep's configuration i runs on process i mod the processes.
struct configurations_run {
    std::size_t asked = 0;
    std::string summaries; // this process's, a line each
};

// Runs the configurations of the list that opt asks for (every one with --sweep),
// in order.
template <class... Configs>
void run_configurations(const gpt_options& opt, const kiln::data::char_text& text,
                        const processes& procs, configurations_run& runs,
                        kiln::type_list<Configs...>) {
    auto try_one = [&]<std::size_t Block, std::size_t Heads>(gpt_config<Block, Heads>) {
        if (opt.sweep || (opt.block == Block && opt.heads == Heads))
            if (procs.runs_configuration(runs.asked++))
                runs.summaries += run_gpt<Block, Heads>(opt, text, procs) + "\n";
    };
    (try_one(Configs{}), ...);
}

// The sweep's other configurations: gpt_heads.cpp (block 32 with 2 and 8 heads) and
// gpt_blocks.cpp (blocks 16 and 64, 4 heads).
void run_other_heads(const gpt_options& opt, const kiln::data::char_text& text,
                     const processes& procs, configurations_run& runs);
void run_other_blocks(const gpt_options& opt, const kiln::data::char_text& text,
                      const processes& procs, configurations_run& runs);

} // namespace kiln::examples
