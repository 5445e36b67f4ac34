// A character-level GRU on a text (tiny Shakespeare; examples/common/
// char_rnn_network.hpp): embedding 64, GRU 128, a linear layer to the next
// character's logits at every step. Trained on random windows of the training
// split (the first 90% of the text, kiln/data/char_text.hpp) with AdamW, a cosine
// learning-rate schedule down to a tenth of the rate, and gradients clipped by
// global norm; every --eval_interval steps it prints the mean training loss of
// the steps since and the validation loss, and at the end samples text.
//
// The validation loss is the mean cross-entropy over the whole validation split,
// cut into consecutive windows of --sequence characters (the last partial one
// left out), each starting from a zero state: the same number on every run of
// the same model, and the number bench/peers/char_rnn.py computes for PyTorch's
// GRU trained with the same recipe.
//
// Sampling: kiln's GRU has no step-by-step state API, so each sampled character
// is a forward pass over the window of the last --sequence characters
// (examples/common/generate_text.hpp): past the window's length the model
// conditions on that window alone, from a zero state.
//
// Writes --out (char_rnn.json): the recipe, the loss curves, the times and the
// sample.
#include "common/char_rnn_network.hpp"
#include "common/command_line.hpp"
#include "common/generate_text.hpp"
#include "common/json_writer.hpp"
#include "common/run_reporting_errors.hpp"

#include <kiln/core/checked_size.hpp>
#include <kiln/data/char_text.hpp>
#include <kiln/kiln.hpp>
#include <kiln/train/check_finite.hpp>

#include <chrono>
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

namespace {

namespace ex = kiln::examples;

// The sequence length the program is built for: each is a network type of its own.
constexpr std::size_t built_length = 64;

struct options {
    std::string text = KILN_DEFAULT_TEXT;
    std::size_t steps = 4000;
    std::size_t batch = 32;
    std::size_t sequence = built_length;
    double learning_rate = 2e-3;
    double max_gradient_norm = 1.0;
    std::size_t eval_interval = 500;
    std::uint64_t seed = 1337;
    double temperature = 0.8;
    std::uint64_t sample_seed = 7;
    std::size_t samples = 500;
    std::string out = "char_rnn.json";
};

using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

// The whole validation split as consecutive windows and their next characters.
template <std::size_t Length>
struct validation_windows {
    std::vector<float> ids;
    std::vector<kiln::label_t> next;
    std::size_t count;
    explicit validation_windows(std::span<const std::uint8_t> split)
        : count((split.size() - 1) / Length) {
        ids.resize(count * Length);
        next.resize(count * Length);
        for (std::size_t i = 0; i < count * Length; ++i) {
            ids[i] = static_cast<float>(split[i]);
            next[i] = static_cast<kiln::label_t>(split[i + 1]);
        }
    }
};

template <std::size_t Length>
int run(const options& opt) {
    using net_type = ex::char_rnn<Length>;
    constexpr std::size_t vocabulary = ex::char_rnn_vocabulary;
    const auto text = kiln::data::char_text::load(opt.text);
    if (text.vocabulary_size() != vocabulary)
        throw kiln::data::data_error(opt.text, "the text has " +
                                                   std::to_string(text.vocabulary_size()) +
                                                   " distinct characters; this program's network "
                                                   "is built for " +
                                                   std::to_string(vocabulary));
    kiln::data::require_windows(text.train(), Length, "training");
    kiln::data::require_windows(text.validation(), Length, "validation");
    // The memory --batch and --samples ask for, refused naming the flag before it is
    // allocated.
    struct window_in_training {
        float ids[Length];
        kiln::label_t next[Length];
        float pass[net_type::network_runner::saved_per_example];
    };
    (void)kiln::checked_bytes<window_in_training>(opt.batch,
                                                  "--batch " + std::to_string(opt.batch));
    const std::string samples = "--samples " + std::to_string(opt.samples);
    (void)kiln::checked_bytes<float>(kiln::checked_sum(opt.samples, 1, samples), samples);
    std::printf("char_rnn: %zu parameters, windows of %zu, batch %zu, %zu steps\n%s",
                net_type::param_count, Length, opt.batch, opt.steps, net_type::summary().c_str());

    kiln::rng random(opt.seed);
    kiln::model<net_type> net(kiln::init::pytorch_default{}, random);
    kiln::trainer<net_type, kiln::sequence_cross_entropy, kiln::adamw> train(
        net, kiln::adamw{.learning_rate = opt.learning_rate}, opt.batch);
    if (opt.steps > 0) // no schedule over no steps
        train.set_schedule(
            kiln::cosine_annealing{.steps = opt.steps, .floor = opt.learning_rate / 10});
    if (opt.max_gradient_norm > 0) train.set_max_gradient_norm(opt.max_gradient_norm);

    std::vector<float> x(opt.batch * Length);
    std::vector<kiln::label_t> y(opt.batch * Length);
    const kiln::batch_view<kiln::shape<Length>, const float> xs(x.data(), opt.batch);
    // Filled by sample_windows with ids of the text, whose vocabulary is the network's.
    const kiln::label_view<vocabulary, Length> ys(y.data(), opt.batch, kiln::labels_checked);

    const validation_windows<Length> validation(text.validation());
    const kiln::batch_view<kiln::shape<Length>, const float> validation_x(validation.ids.data(),
                                                                          validation.count);
    const kiln::label_view<vocabulary, Length> validation_y(validation.next.data(),
                                                            validation.count, kiln::labels_checked);
    kiln::evaluator<net_type, kiln::sequence_cross_entropy> evaluator(256);
    std::size_t done = 0;
    auto validation_loss = [&] {
        const double loss = evaluator.mean_loss(net, validation_x, validation_y);
        kiln::check_finite_evaluation(loss, net, validation_x, done, "the validation split");
        return loss;
    };

    std::vector<double> curve_steps, train_curve, val_curve;
    double training_seconds = 0;
    const auto start = clock_type::now();
    while (done < opt.steps) {
        const std::size_t chunk_end = std::min(opt.steps, done + opt.eval_interval);
        kiln::progress_bar bar(stdout, "  training", chunk_end - done);
        double loss_sum = 0;
        const auto chunk_start = clock_type::now();
        for (std::size_t i = done; i < chunk_end; ++i) {
            kiln::data::sample_windows(text.train(), Length, opt.batch, random, x.data(), y.data());
            const float loss = train.step(xs, ys);
            kiln::check_finite(loss, train, i + 1);
            loss_sum += loss;
            bar.update(i + 1 - done);
        }
        training_seconds += seconds_since(chunk_start);
        bar.finish();
        std::fputc('\n', stdout);
        curve_steps.push_back(static_cast<double>(chunk_end));
        train_curve.push_back(loss_sum / static_cast<double>(chunk_end - done));
        done = chunk_end;
        val_curve.push_back(validation_loss());
        std::printf("step %5zu: train loss %.4f (mean since the last), val loss %.4f (%.1f s)\n",
                    done, train_curve.back(), val_curve.back(), seconds_since(start));
        std::fflush(stdout);
    }
    const double final_val = val_curve.empty() ? validation_loss() : val_curve.back();

    const std::string sample =
        ex::generate(net, text, opt.samples, opt.temperature, opt.sample_seed);
    std::printf("--- sample (temperature %g) ---\n%s\n------------------------------\n",
                opt.temperature, sample.c_str());
    std::printf("final val loss %.4f; training %.1f s (%.2f ms a step), %.1f s in all\n", final_val,
                training_seconds,
                opt.steps ? 1e3 * training_seconds / static_cast<double>(opt.steps) : 0.0,
                seconds_since(start));

    ex::json_object json;
    json.number("sequence", Length)
        .number("batch", opt.batch)
        .number("steps", opt.steps)
        .number("learning_rate", opt.learning_rate)
        .number("max_gradient_norm", opt.max_gradient_norm)
        .number("seed", opt.seed)
        .number("parameters", net_type::param_count)
        .numbers("step", curve_steps)
        .numbers("train", train_curve)
        .numbers("val", val_curve)
        .number("final_val", final_val)
        .number("training_time", training_seconds)
        .number("temperature", opt.temperature)
        .string("sample", sample);
    json.write(opt.out);
    std::printf("wrote %s\n", opt.out.c_str());
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    ex::command_line cli{"kiln: a character-level GRU on a text (tiny Shakespeare), with samples"};
    options opt;
    cli.option("--text,text", opt.text, "the training text (tiny Shakespeare)");
    cli.option("--steps", opt.steps, "training steps", ex::whole_number_at_least(0));
    cli.option("--batch", opt.batch, "windows per step", ex::whole_number_at_least(1));
    cli.option("--sequence", opt.sequence,
               "characters per window: " + std::to_string(built_length) +
                   ", the length the program is built for",
               ex::whole_number_at_least(1));
    cli.option("--learning_rate", opt.learning_rate,
               "AdamW's rate, annealed along a cosine to a tenth of it", ex::at_least(0));
    cli.option("--max_gradient_norm", opt.max_gradient_norm,
               "clip each step's gradient to this global norm (0: no clipping)", ex::at_least(0));
    cli.option("--eval_interval", opt.eval_interval,
               "steps between reports of the training and validation loss",
               ex::whole_number_at_least(1));
    cli.option("--seed", opt.seed, "seed of the initialization and the batches",
               ex::whole_number_at_least(0));
    cli.option("--temperature", opt.temperature, "sampling temperature", ex::number_in(1e-3, 100));
    cli.option("--sample_seed", opt.sample_seed, "seed of the sampling",
               ex::whole_number_at_least(0));
    cli.option("--samples", opt.samples, "characters to generate after training",
               ex::whole_number_at_least(0));
    cli.option("--out", opt.out, "the results file (JSON)", ex::file_to_write());
    if (auto exit_code = cli.parse(argc, argv)) return *exit_code;
    return ex::run_reporting_errors("char_rnn", [&] {
        // Another length is another network type, compiled in.
        if (opt.sequence != built_length)
            throw std::invalid_argument("--sequence " + std::to_string(opt.sequence) +
                                        " is not built in: the network reads windows of " +
                                        std::to_string(built_length) + " characters");
        return run<built_length>(opt);
    });
}
