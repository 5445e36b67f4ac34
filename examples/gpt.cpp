// The course's tiny transformer (SEED.md part F): a character GPT trained on a
// text (tiny Shakespeare) with AdamW, evaluated every --eval_interval steps on
// --eval_iters random batches of each split, with text generated before and
// after training. --sweep trains block sizes 2, 16, 64 (4 heads) and heads 2, 8
// (block 32) beside the course's 32 / 4, each from scratch: each is its own
// compile-time instantiation of examples/common/gpt_network.hpp.
//
// Writes GPT_block{B}_heads{H}.json: the loss curves (iteration, train, val),
// the samples and the times.
#include "common/command_line.hpp"
#include "common/gpt_network.hpp"
#include "common/json_writer.hpp"

#include <kiln/data/char_text.hpp>
#include <kiln/kiln.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace {

// The build passes the course's text beside the checkout; compiled by hand, the
// program looks beside the folder it runs in.
#ifndef KILN_DEFAULT_TEXT
#define KILN_DEFAULT_TEXT "../shared/data/tinyshakespeare.txt"
#endif

struct options {
    std::string text = KILN_DEFAULT_TEXT;
    std::size_t block = 32;
    std::size_t heads = 4;
    bool sweep = false;
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
double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

// Samples `length` characters after a context of id 0, as the course's generate:
// each next id drawn from softmax(logits / temperature) at the last position.
// The network's shape is fixed at Block positions; until the context fills it,
// the window is padded after the context and the logits are read at the
// context's last position, which causality makes exactly the course's result.
template <class Net>
std::string generate(const kiln::model<Net>& net, const kiln::data::char_text& text,
                     std::size_t length, double temperature, std::uint64_t seed) {
    constexpr std::size_t block = Net::input_shape::size;
    constexpr std::size_t vocab = kiln::examples::gpt_vocabulary;
    kiln::workspace<Net> space(1);
    kiln::rng random(seed);
    std::vector<float> context = {0.0f};
    std::vector<float> window(block);
    std::vector<double> weights(vocab);
    for (std::size_t n = 0; n < length; ++n) {
        const std::size_t used = context.size() < block ? context.size() : block;
        std::fill(window.begin(), window.end(), 0.0f);
        std::copy(context.end() - static_cast<std::ptrdiff_t>(used), context.end(), window.begin());
        const auto logits = kiln::forward(
            net, space, kiln::batch_view<typename Net::input_shape, const float>(window.data(), 1));
        const float* const last = logits.data() + (used - 1) * vocab;
        const double largest = *std::max_element(last, last + vocab);
        double total = 0;
        for (std::size_t c = 0; c < vocab; ++c)
            total += weights[c] = std::exp((last[c] - largest) / temperature);
        double pick = random.uniform() * total;
        std::size_t next = 0;
        while (next + 1 < vocab && pick >= weights[next])
            pick -= weights[next++];
        context.push_back(static_cast<float>(next));
    }
    return text.decode(std::span<const float>(context).subspan(1));
}

template <std::size_t Block, std::size_t Heads>
void run(const options& opt, const kiln::data::char_text& text) {
    using net_type = kiln::examples::gpt<Block, Heads>;
    kiln::data::require_windows(text.train(), Block, "training");
    kiln::data::require_windows(text.validation(), Block, "validation");
    std::printf("GPT block %zu, heads %zu: %zu parameters\n%s", Block, Heads, net_type::param_count,
                net_type::summary().c_str());

    kiln::rng random(opt.seed);
    kiln::model<net_type> net(kiln::init::pytorch_default{}, random);
    kiln::trainer<net_type, kiln::sequence_cross_entropy, kiln::adamw> train(
        net, kiln::adamw{.learning_rate = opt.learning_rate}, opt.batch);
    std::vector<float> x(opt.batch * Block);
    std::vector<kiln::label_t> y(opt.batch * Block);
    const kiln::batch_view<kiln::shape<Block>, const float> xs(x.data(), opt.batch);
    const kiln::label_view<kiln::examples::gpt_vocabulary> ys(y.data(), opt.batch);

    const std::string before =
        generate(net, text, opt.sample_length, opt.temperature, opt.sample_seed);
    std::printf("--- sample before training ---\n%s\n------------------------------\n",
                before.c_str());

    // An estimate: the mean loss over eval_iters random batches, drawn first (the
    // same draws as one batch at a time) and then run on every core at once.
    kiln::evaluator<net_type, kiln::sequence_cross_entropy> evaluator(opt.batch);
    const std::size_t estimate_windows = opt.eval_iters * opt.batch;
    std::vector<float> estimate_x(estimate_windows * Block);
    std::vector<kiln::label_t> estimate_y(estimate_windows * Block);
    auto estimate = [&](std::span<const std::uint8_t> split) {
        for (std::size_t k = 0; k < opt.eval_iters; ++k)
            kiln::data::sample_windows(split, Block, opt.batch, random,
                                       estimate_x.data() + k * opt.batch * Block,
                                       estimate_y.data() + k * opt.batch * Block);
        return evaluator.mean_loss(
            net,
            kiln::batch_view<kiln::shape<Block>, const float>(estimate_x.data(), estimate_windows),
            kiln::label_view<kiln::examples::gpt_vocabulary>(estimate_y.data(), estimate_windows));
    };

    std::vector<double> iterations, train_curve, val_curve;
    double training_seconds = 0;
    const auto start = clock_type::now();
    std::size_t done = 0;
    while (true) {
        if (done % opt.eval_interval == 0 || done == opt.iterations) {
            iterations.push_back(static_cast<double>(done == opt.iterations ? done - 1 : done));
            train_curve.push_back(estimate(text.train()));
            val_curve.push_back(estimate(text.validation()));
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
            const float loss = train.step(xs, ys);
            if (!std::isfinite(loss))
                throw std::runtime_error("the loss became " + std::to_string(loss) + " at step " +
                                         std::to_string(i) + ": lower --learning_rate");
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

    kiln::examples::json_object json;
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
    json.write(path);
    std::printf("wrote %s\n", path.string().c_str());
}

// The instantiations this program holds: the course's and the sweep's.
template <std::size_t Block, std::size_t Heads>
struct config {};
using configs = kiln::type_list<config<32, 4>, config<2, 4>, config<16, 4>, config<64, 4>,
                                config<32, 2>, config<32, 8>>;

template <class... C>
bool run_matching(const options& opt, const kiln::data::char_text& text, kiln::type_list<C...>) {
    bool found = false;
    auto try_one = [&]<std::size_t Block, std::size_t Heads>(config<Block, Heads>) {
        if (opt.sweep || (opt.block == Block && opt.heads == Heads)) {
            run<Block, Heads>(opt, text);
            found = true;
        }
    };
    (try_one(C{}), ...);
    return found;
}

} // namespace

int main(int argc, char** argv) {
    namespace ex = kiln::examples;
    ex::command_line cli{"kiln: the course's character GPT (SEED.md part F)"};
    options opt;
    cli.option("--text,text", opt.text, "the training text (tiny Shakespeare)");
    cli.option("--block", opt.block, "context length: 32, or 2, 16, 64 (with 4 heads)");
    cli.option("--heads", opt.heads, "attention heads: 4, or 2, 8 (with block 32)");
    cli.flag("--sweep", opt.sweep, "train every configuration above, each from scratch");
    cli.option("--iterations", opt.iterations, "training steps", ex::whole_number_at_least(1));
    cli.option("--eval_interval", opt.eval_interval, "steps between loss estimates",
               ex::whole_number_at_least(1));
    cli.option("--eval_iters", opt.eval_iters, "random batches per split per estimate",
               ex::whole_number_at_least(1));
    cli.option("--batch", opt.batch, "batch size", ex::whole_number_at_least(1));
    cli.option("--learning_rate", opt.learning_rate, "AdamW learning rate", ex::at_least(0));
    cli.option("--seed", opt.seed, "seed of the initialization and the batches",
               ex::whole_number_at_least(0));
    cli.option("--temperature", opt.temperature, "sampling temperature (> 0)",
               ex::number_in(1e-3, 100));
    cli.option("--sample_seed", opt.sample_seed, "seed of the sampling",
               ex::whole_number_at_least(0));
    cli.option("--sample_length", opt.sample_length, "characters to generate",
               ex::whole_number_at_least(0));
    cli.option("--out_dir", opt.out_dir, "folder for GPT_block{B}_heads{H}.json",
               ex::existing_folder());
    if (auto exit_code = cli.parse(argc, argv)) return *exit_code;

    try {
        const auto text = kiln::data::char_text::load(opt.text);
        if (text.vocabulary_size() != kiln::examples::gpt_vocabulary)
            throw kiln::data::data_error(
                opt.text, "the text has " + std::to_string(text.vocabulary_size()) +
                              " distinct characters; this program's networks are built for " +
                              std::to_string(kiln::examples::gpt_vocabulary));
        if (!run_matching(opt, text, configs{}))
            throw std::invalid_argument(
                "--block " + std::to_string(opt.block) + " --heads " + std::to_string(opt.heads) +
                " is not built in: use block 32 with heads 2, 4 or 8, or heads 4 with block 2, "
                "16, 32 or 64");
        return 0;
    } catch (const std::exception& failure) {
        std::fprintf(stderr, "gpt: error: %s\n", failure.what());
        return 1;
    }
}
