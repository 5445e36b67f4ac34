// The course's tiny transformer (SEED.md part F): a character GPT trained on a
// text (tiny Shakespeare) with AdamW, evaluated every --eval_interval steps on
// --eval_iters random batches of each split, with text generated before and
// after training. --sweep trains block sizes 2, 16, 64 (4 heads) and heads 2, 8
// (block 32) beside the course's 32 / 4, each from scratch: each is its own
// compile-time instantiation of examples/common/gpt_network.hpp; under mpirun,
// one configuration per process. --data_parallel (under mpirun) trains one run in
// every process, each on its rows of every mini-batch. This file holds the
// command line, the course's network and block 2's; gpt_training.hpp says where the
// others are.
//
// Writes GPT_block{B}_heads{H}.json: the loss curves (iteration, train, val),
// the samples and the times.
#include "common/command_line.hpp"
#include "gpt_training.hpp"

#include <kiln/data/char_text.hpp>

#include <stdexcept>
#include <string>

int main(int argc, char** argv) {
    namespace ex = kiln::examples;
    ex::command_line cli{"kiln: the course's character GPT (SEED.md part F)"};
    ex::gpt_options opt;
    cli.option("--text,text", opt.text, "the training text (tiny Shakespeare)");
    cli.option("--block", opt.block, "context length: 32, or 2, 16, 64 (with 4 heads)",
               ex::whole_number_in(2, 64));
    cli.option("--heads", opt.heads, "attention heads: 4, or 2, 8 (with block 32)",
               ex::whole_number_in(2, 8));
    cli.flag("--sweep", opt.sweep,
             "train every configuration above, each from scratch; under mpirun, one "
             "configuration per process");
    cli.flag("--data_parallel", opt.data_parallel, ex::data_parallel_help);
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
               ex::folder_to_write());
    if (auto exit_code = cli.parse(argc, argv)) return *exit_code;

    const ex::process_role role = ex::role_asked(opt.data_parallel, opt.sweep);
    return ex::run_in_processes("gpt", role, "--data_parallel", [&](const ex::processes& procs) {
        if (opt.sweep && opt.data_parallel)
            throw std::invalid_argument("--sweep runs one configuration per process; "
                                        "--data_parallel one run in every process: choose one");
        const auto text = kiln::data::char_text::load(opt.text);
        if (text.vocabulary_size() != ex::gpt_vocabulary)
            throw kiln::data::data_error(
                opt.text, "the text has " + std::to_string(text.vocabulary_size()) +
                              " distinct characters; this program's networks are built for " +
                              std::to_string(ex::gpt_vocabulary));
        // The course's network first, then the sweep's, in its order.
        ex::configurations_run runs;
        ex::run_configurations(opt, text, procs, runs, kiln::type_list<ex::gpt_config<32, 4>>{});
        ex::run_other_heads(opt, text, procs, runs);
        ex::run_configurations(opt, text, procs, runs, kiln::type_list<ex::gpt_config<2, 4>>{});
        ex::run_other_blocks(opt, text, procs, runs);
        if (runs.asked == 0)
            throw std::invalid_argument(
                "--block " + std::to_string(opt.block) + " --heads " + std::to_string(opt.heads) +
                " is not built in: use block 32 with heads 2, 4 or 8, or heads 4 with block 2, "
                "16, 32 or 64");
        // A sweep's results, every process's, on the first.
        const std::vector<std::string> summaries = procs.gather(runs.summaries);
        if (opt.sweep && procs.is_root()) {
            std::printf("sweep: %zu configurations on %zu process%s\n", runs.asked, procs.size(),
                        procs.size() == 1 ? "" : "es");
            for (const std::string& lines : summaries)
                std::printf("%s", lines.c_str());
        }
        return 0;
    });
}
