// The course's Fashion-MNIST MLP (SEED.md C and D): 784 -> linear(128) -> relu ->
// linear(10) -> softmax cross-entropy, SGD (optionally with momentum), mini-batches,
// early stopping on validation accuracy; optional gradient and magnitude checks.
// --save writes the whole training state after every epoch (atomically) and
// --resume continues such a run exactly where it stopped (saving to the same file
// unless --save says otherwise), on the data it started with; a loss or input that
// turns NaN or infinite stops training with exit code 3, naming step and layer.
// --data_parallel (under mpirun) trains the run in every process, each on its rows
// of every mini-batch; --sweep runs the course's batch-size study, one batch size
// per process under mpirun (docs/distributed.md).
#include "common/command_line.hpp"
#include "common/init_scheme.hpp"
#include "common/json_writer.hpp"
#include "common/processes.hpp"

#include <kiln/data/fashion_mnist.hpp>
#include <kiln/data/fingerprint.hpp>
#include <kiln/kiln.hpp>
#include <kiln/train/check_finite.hpp>
#include <kiln/train/checkpoint.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>
#include <type_traits>
#include <vector>

namespace {

using mlp = kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear<128>, kiln::relu,
                             kiln::linear<10>>;
static_assert(mlp::param_count == 101'770, "the course's MLP has 101,770 parameters");

using image = kiln::shape<28, 28>;
using dataset = kiln::data::fashion_mnist<float>;

struct options {
    std::size_t minibatch_size = 1;
    double learning_rate = 0.01;
    double momentum = 0.0;
    std::size_t num_epoch = 200;
    std::size_t early_stopping_patience = 3;
    std::uint64_t random_seed = 42;
    std::string init = "normal";
    bool check_gradient = false;
    bool check_magnitude = false;
    bool test_each_epoch = false;   // the early-stopping study's test curve
    std::size_t watch_patience = 0; // where this patience would have stopped (0: not asked)
    std::string data_dir{kiln::data::default_fashion_mnist_dir};
    std::string out_dir = ".";
    std::string save;          // checkpoint after every epoch
    std::string resume;        // checkpoint to continue from (and save to, without --save)
    bool force_resume = false; // resume even on data other than the run's
    bool data_parallel = false;
    bool sweep = false;
};

// The batch sizes of the course's batch-size study (--sweep).
constexpr std::size_t study_batch_sizes[] = {1, 5, 50, 500, 5000};

// What the training loop has done so far; with kiln's objects, a checkpoint.
struct progress {
    std::size_t epoch = 0; // epochs finished
    std::size_t updates_to_best = 0;
    double seconds = 0; // time in the training loop, over every resumed part of the run
    std::vector<double> train_accuracy, validation_accuracy, train_loss;
};

// The options of the run, for a resumed run to take (--num_epoch only says when to stop).
[[gnu::cold]] void store_options(kiln::checkpoint& state, const options& opt) {
    state.put_value("options.minibatch_size", std::uint64_t{opt.minibatch_size});
    state.put_value("options.learning_rate", opt.learning_rate);
    state.put_value("options.momentum", opt.momentum);
    state.put_value("options.early_stopping_patience", std::uint64_t{opt.early_stopping_patience});
    state.put_value("options.random_seed", opt.random_seed);
    state.put_value("options.num_epoch", std::uint64_t{opt.num_epoch});
}

// A resumed run takes the options it was started with: one left out of the command
// line comes from the checkpoint, one given must agree with it (other values would
// make another run). --num_epoch may differ, to extend a finished run.
[[gnu::cold]] void adopt_options(const kiln::checkpoint& state,
                                 const kiln::examples::command_line& cli, options& opt) {
    auto adopt = [&](const std::string& flag, auto& value) {
        using value_type = std::remove_reference_t<decltype(value)>;
        const auto stored = state.get_value<value_type>("options." + flag.substr(2));
        if (!cli.given(flag) || flag == "--num_epoch") {
            if (!cli.given(flag)) value = stored;
            return;
        }
        if (value != stored) {
            char text[96];
            if constexpr (std::is_floating_point_v<value_type>)
                std::snprintf(text, sizeof text, "%g, the run was started with %g", value, stored);
            else
                std::snprintf(text, sizeof text, "%llu, the run was started with %llu",
                              static_cast<unsigned long long>(value),
                              static_cast<unsigned long long>(stored));
            state.fail(flag + " is " + text +
                       ": leave it out to resume, or start a new run without --resume");
        }
    };
    adopt("--minibatch_size", opt.minibatch_size);
    adopt("--learning_rate", opt.learning_rate);
    adopt("--momentum", opt.momentum);
    adopt("--early_stopping_patience", opt.early_stopping_patience);
    adopt("--random_seed", opt.random_seed);
    adopt("--num_epoch", opt.num_epoch);
}

// What identifies the data of a run: a fingerprint of each split (its size and the
// CRC-32s of its images and labels), computed only when the run saves or resumes.
struct data_fingerprints {
    kiln::data::fingerprint train, validation, test;

    explicit data_fingerprints(const dataset& data)
        : train(kiln::data::fingerprint_of(data.train)),
          validation(kiln::data::fingerprint_of(data.validation)),
          test(kiln::data::fingerprint_of(data.test)) {}

    void store(kiln::checkpoint& state) const {
        kiln::store(state, train, "data.train");
        kiln::store(state, validation, "data.validation");
        kiln::store(state, test, "data.test");
    }
    // A run resumed on other data would be another run (and score it as this one).
    void expect_in(const kiln::checkpoint& state) const {
        kiln::expect_same_data(state, train, "data.train", "--force_resume");
        kiln::expect_same_data(state, validation, "data.validation", "--force_resume");
        kiln::expect_same_data(state, test, "data.test", "--force_resume");
    }
};

// Everything a run needs to continue exactly: kiln's objects (model, SGD velocity,
// generator, early stopping), the best model so far, the data order (each epoch
// shuffles the last one's), the history, the options, and what its data were.
[[gnu::cold]] kiln::checkpoint training_state(const options& opt, kiln::trainer<mlp>& train,
                                              const kiln::rng& random,
                                              const kiln::early_stopping& stopper,
                                              const kiln::aligned_buffer<float>& best,
                                              std::span<const std::size_t> order,
                                              const progress& done, const data_fingerprints& data) {
    auto state = kiln::checkpoint::of<mlp, float>();
    data.store(state);
    kiln::store(state, train);
    kiln::store(state, random);
    kiln::store(state, stopper);
    state.put("best_parameters", best.span());
    state.put("order", order);
    state.put_value("epoch", std::uint64_t{done.epoch});
    state.put_value("updates_to_best", std::uint64_t{done.updates_to_best});
    state.put_value("seconds", done.seconds);
    state.put("history.train_accuracy", done.train_accuracy);
    state.put("history.validation_accuracy", done.validation_accuracy);
    state.put("history.train_loss", done.train_loss);
    store_options(state, opt);
    return state;
}

[[gnu::cold]] void restore_training_state(const kiln::checkpoint& state, kiln::trainer<mlp>& train,
                                          kiln::rng& random, kiln::early_stopping& stopper,
                                          kiln::aligned_buffer<float>& best,
                                          std::span<std::size_t> order, progress& done) {
    kiln::restore(state, train);
    kiln::restore(state, random);
    kiln::restore(state, stopper);
    state.get("best_parameters", best.span());
    kiln::require_finite(state, "best_parameters", best.span(), &kiln::describe_parameter<mlp>);
    state.get("order", order);
    // The order must stay a permutation: gather would refuse an index out of range,
    // but a repeated one would silently train on other data.
    std::vector<bool> seen(order.size());
    for (const std::size_t index : order) {
        if (index >= order.size() || seen[index])
            state.fail("corrupt: section 'order' is not a permutation of the training set");
        seen[index] = true;
    }
    done.epoch = state.get_value<std::uint64_t>("epoch");
    done.updates_to_best = state.get_value<std::uint64_t>("updates_to_best");
    done.seconds = state.get_value<double>("seconds");
    done.train_accuracy = state.get_all<double>("history.train_accuracy");
    done.validation_accuracy = state.get_all<double>("history.validation_accuracy");
    done.train_loss = state.get_all<double>("history.train_loss");
    kiln::require_finite(state, "history.train_accuracy", std::span(done.train_accuracy));
    kiln::require_finite(state, "history.validation_accuracy", std::span(done.validation_accuracy));
    kiln::require_finite(state, "history.train_loss", std::span(done.train_loss));
    if (!std::isfinite(done.seconds))
        state.fail("section 'seconds' holds " + std::to_string(done.seconds) +
                   ": it cannot be resumed (the file was altered)");
    if (done.train_accuracy.size() != done.epoch || done.validation_accuracy.size() != done.epoch ||
        done.train_loss.size() != done.epoch || stopper.epochs() != done.epoch)
        state.fail("corrupt: the history does not hold one entry per finished epoch");
}

// The course's check: central differences with eps = 1e-3 on W[0][0] and b[0] of
// both linear layers, on training example 0, next to backprop's values. In double.
[[gnu::cold]] void check_gradient(const kiln::model<mlp>& trained_from, const dataset& data) {
    kiln::model<mlp, double> net(trained_from);
    kiln::trainer<mlp, kiln::softmax_cross_entropy, kiln::sgd, double> train(net, kiln::sgd{}, 1);
    std::vector<double> x(data.train.inputs()[0].begin(), data.train.inputs()[0].end());
    const kiln::batch_view<image, const double> input(x.data(), 1);
    const auto label = data.train.labels().rows(0, 1);
    train.compute_gradients(input, label);

    using first = mlp::layer_t<2>;
    using second = mlp::layer_t<4>;
    struct entry {
        const char* name;
        std::size_t index;
    };
    const entry entries[] = {
        {"linear 1 W[0][0]", net.offset_of<2> + first::weight_at(0, 0)},
        {"linear 1 b[0]", net.offset_of<2> + first::bias_at(0)},
        {"linear 2 W[0][0]", net.offset_of<4> + second::weight_at(0, 0)},
        {"linear 2 b[0]", net.offset_of<4> + second::bias_at(0)},
    };
    const std::vector<double> backprop(net.gradients().begin(), net.gradients().end());
    std::printf("gradient check (training example 0, central differences, eps = 1e-3)\n");
    std::printf("  %-18s %16s %16s %12s\n", "parameter", "backprop", "numerical", "rel. error");
    for (const auto& [name, index] : entries) {
        const double numeric = kiln::numerical_gradient(train, input, label, index, 1e-3);
        const double error = std::abs(backprop[index] - numeric) /
                             std::max({std::abs(backprop[index]), std::abs(numeric), 1e-12});
        std::printf("  %-18s %16.9g %16.9g %12.2e\n", name, backprop[index], numeric, error);
    }
}

// The course's magnitude check: the first layer's weight gradient summed over its
// entries, for the mean loss over the first 50 and the first 5000 training
// examples, with the untrained model.
[[gnu::cold]] void check_magnitude(const kiln::model<mlp>& untrained, const dataset& data) {
    kiln::model<mlp, double> net(untrained);
    std::printf("gradient magnitude check (untrained model)\n");
    for (std::size_t count : {std::size_t{50}, std::size_t{5000}}) {
        kiln::trainer<mlp, kiln::softmax_cross_entropy, kiln::sgd, double> train(net, kiln::sgd{},
                                                                                 count);
        const auto images = data.train.inputs().rows(0, count);
        std::vector<double> x(images.data(), images.data() + images.size());
        train.compute_gradients(kiln::batch_view<image, const double>(x.data(), count),
                                data.train.labels().rows(0, count));
        const double* gradient = net.gradients_of<2>();
        const double sum = std::accumulate(gradient, gradient + mlp::layer_t<2>::weight_count, 0.0);
        std::printf("  first %4zu examples: sum of d loss / d W1 = %.9g\n", count, sum);
    }
}

std::string format_rate(double rate) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", rate);
    return text;
}

// Trains one run; returns a line that sums it up.
std::string run(const options& opt, const kiln::checkpoint* resume_from,
                const kiln::examples::processes& procs) {
    const dataset data = kiln::data::load_fashion_mnist<float>(opt.data_dir, opt.random_seed);
    const std::size_t train_count = data.train.size();
    if (opt.minibatch_size > train_count)
        throw std::invalid_argument("--minibatch_size " + std::to_string(opt.minibatch_size) +
                                    " is larger than the training set (" +
                                    std::to_string(train_count) + " examples)");

    std::printf("%s", mlp::summary().c_str());
    std::printf("data: %zu train, %zu validation, %zu test from %s\n", train_count,
                data.validation.size(), data.test.size(), opt.data_dir.c_str());

    kiln::rng random(opt.random_seed);
    kiln::model<mlp> net;
    kiln::examples::with_init_scheme(opt.init,
                                     [&](const auto& scheme) { net.initialize(scheme, random); });
    if (opt.check_gradient) check_gradient(net, data);
    if (opt.check_magnitude) check_magnitude(net, data);

    const std::size_t batch = opt.minibatch_size;
    kiln::examples::example_trainer<mlp> trainer(procs, net,
                                                 kiln::sgd{opt.learning_rate, opt.momentum}, batch);
    kiln::trainer<mlp>& train = trainer.local();
    kiln::workspace<mlp, float> evaluation_space(1000);
    kiln::early_stopping stopper(opt.early_stopping_patience);
    kiln::aligned_buffer<float> best_parameters(net.parameters().size());
    // The early-stopping study trains on without stopping and notes where
    // --watch_patience would have stopped, and the test accuracy of every epoch.
    kiln::early_stopping watcher(opt.watch_patience);
    std::size_t watch_stop_epoch = 0;
    std::vector<double> test_accuracy_each_epoch;

    kiln::shuffled_batches batches(data.train, batch);
    const std::size_t steps = batches.steps_per_epoch();

    progress done;
    auto& [finished_epochs, updates_to_best, recorded_seconds, train_accuracy, validation_accuracy,
           train_loss] = done;
    std::optional<data_fingerprints> fingerprints;
    if (!opt.save.empty()) fingerprints.emplace(data);
    if (resume_from) {
        if (!opt.force_resume) {
            fingerprints->expect_in(*resume_from);
        } else {
            std::printf("--force_resume: the data are not checked against the run's\n");
        }
        restore_training_state(*resume_from, train, random, stopper, best_parameters,
                               batches.order(), done);
        trainer.require_identical("after resuming");
        std::printf("resumed from %s: %zu epochs done, best epoch %zu (val acc %.4f); saving to "
                    "%s\n",
                    opt.resume.c_str(), finished_epochs, stopper.best_epoch(), stopper.best_score(),
                    opt.save.c_str());
    }
    const double seconds_before = recorded_seconds;
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    double excluded_seconds = 0; // saving and test scoring, kept out of the training time
    auto training_seconds = [&] {
        return seconds_before + std::chrono::duration<double>(clock::now() - start).count() -
               excluded_seconds;
    };
    for (std::size_t epoch = finished_epochs + 1; epoch <= opt.num_epoch && !stopper.should_stop();
         ++epoch) {
        const auto epoch_start = clock::now();
        kiln::progress_bar bar(stdout, "epoch " + std::to_string(epoch), steps);
        batches.epoch(random, [&](std::size_t step, auto inputs, auto labels) {
            const float loss = trainer.step(inputs, labels);
            kiln::check_finite(loss, train, (epoch - 1) * steps + step + 1);
            bar.update(step + 1);
        });
        bar.finish();
        const auto on_train =
            procs.evaluate(net, evaluation_space, data.train.inputs(), data.train.labels());
        const auto on_validation = procs.evaluate(net, evaluation_space, data.validation.inputs(),
                                                  data.validation.labels());
        // Before the epoch can be the best or be saved: a NaN (relu hides one in
        // the weights from the steps' losses) stops the run here, with exit code 3.
        kiln::check_finite_evaluation(on_train.loss, net, data.train.inputs(), epoch * steps,
                                      "the training set");
        kiln::check_finite_evaluation(on_validation.loss, net, data.validation.inputs(),
                                      epoch * steps, "the validation set");
        train_loss.push_back(on_train.loss);
        train_accuracy.push_back(on_train.accuracy);
        validation_accuracy.push_back(on_validation.accuracy);
        const bool improved = stopper.record(on_validation.accuracy);
        if (opt.watch_patience != 0 && watch_stop_epoch == 0) {
            watcher.record(on_validation.accuracy);
            if (watcher.should_stop()) watch_stop_epoch = epoch;
        }
        if (opt.test_each_epoch) { // scored outside the training time
            const auto scoring_start = clock::now();
            const auto on_test =
                procs.evaluate(net, evaluation_space, data.test.inputs(), data.test.labels());
            kiln::check_finite_evaluation(on_test.loss, net, data.test.inputs(), epoch * steps,
                                          "the test set");
            test_accuracy_each_epoch.push_back(on_test.accuracy);
            excluded_seconds += std::chrono::duration<double>(clock::now() - scoring_start).count();
        }
        if (improved) {
            std::copy(net.parameters().begin(), net.parameters().end(), best_parameters.data());
            updates_to_best = epoch * steps;
        }
        std::printf("train loss %.4f  train acc %.4f  val acc %.4f%s  (%.2f s)\n", on_train.loss,
                    on_train.accuracy, on_validation.accuracy, improved ? " *" : "",
                    std::chrono::duration<double>(clock::now() - epoch_start).count());
        std::fflush(stdout);
        finished_epochs = epoch;
        trainer.require_identical("after epoch " + std::to_string(epoch));
        if (!opt.save.empty() && procs.writes_files()) {
            const auto save_start = clock::now();
            recorded_seconds = training_seconds();
            training_state(opt, train, random, stopper, best_parameters, batches.order(), done,
                           *fingerprints)
                .save(opt.save);
            excluded_seconds += std::chrono::duration<double>(clock::now() - save_start).count();
        }
        if (stopper.should_stop()) {
            std::printf("early stopping: no better validation accuracy for %zu epochs\n",
                        opt.early_stopping_patience);
            break;
        }
    }
    const double seconds = training_seconds();

    std::copy(best_parameters.data(), best_parameters.data() + best_parameters.size(),
              net.parameters().begin());
    const auto on_test =
        procs.evaluate(net, evaluation_space, data.test.inputs(), data.test.labels());
    kiln::check_finite_evaluation(on_test.loss, net, data.test.inputs(), finished_epochs * steps,
                                  "the test set (best epoch's model)");
    std::printf("best epoch %zu (val acc %.4f, %zu updates)\n", stopper.best_epoch(),
                stopper.best_score(), updates_to_best);
    std::printf("test accuracy at the best epoch: %.4f\n", on_test.accuracy);
    std::printf("training time: %.2f s (training loop, %zu epochs)\n", seconds, stopper.epochs());

    const std::filesystem::path out =
        std::filesystem::path(opt.out_dir) /
        ("MLP_lr" + format_rate(opt.learning_rate) + "_b" + std::to_string(batch) + ".json");
    kiln::examples::json_object results;
    results.numbers("train", train_accuracy)
        .numbers("val", validation_accuracy)
        .number("test", on_test.accuracy)
        .number("time", seconds)
        .numbers("train_loss", train_loss)
        .number("best_epoch", static_cast<double>(stopper.best_epoch()))
        .number("updates_to_best", static_cast<double>(updates_to_best))
        .number("epochs", static_cast<double>(stopper.epochs()))
        .number("minibatch_size", static_cast<double>(batch))
        .number("momentum", opt.momentum)
        .number("learning_rate", opt.learning_rate)
        .number("early_stopping_patience", static_cast<double>(opt.early_stopping_patience));
    if (opt.test_each_epoch) results.numbers("test_each_epoch", test_accuracy_each_epoch);
    if (opt.watch_patience != 0) {
        // 0 when it would not have stopped within the epochs run.
        results.number("watch_patience", static_cast<double>(opt.watch_patience))
            .number("watch_stop_epoch", static_cast<double>(watch_stop_epoch))
            .number("watch_best_epoch", static_cast<double>(watcher.best_epoch()));
    }
    if (procs.writes_files()) {
        results.write(out);
        std::printf("wrote %s\n", out.string().c_str());
    }
    char line[160];
    std::snprintf(line, sizeof line,
                  "minibatch %5zu: test accuracy %.4f (best epoch %zu of %zu), %.1f s", batch,
                  on_test.accuracy, stopper.best_epoch(), stopper.epochs(), seconds);
    return line;
}

// The batch-size study: every batch size of the study, each a run of its own from
// the same start, one per process under mpirun; the first process prints them all.
void run_sweep(const options& opt, const kiln::examples::processes& procs) {
    std::string mine;
    for (std::size_t i = 0; i < std::size(study_batch_sizes); ++i)
        if (procs.runs_configuration(i)) {
            options one = opt;
            one.minibatch_size = study_batch_sizes[i];
            mine += run(one, nullptr, procs) + "\n";
        }
    const std::vector<std::string> all = procs.gather(mine);
    if (!procs.is_root()) return;
    std::printf("batch-size study, %zu runs on %zu process%s:\n", std::size(study_batch_sizes),
                procs.size(), procs.size() == 1 ? "" : "es");
    for (std::size_t process = 0; process < all.size(); ++process)
        std::printf("%s", all[process].c_str());
}

} // namespace

int main(int argc, char** argv) {
    options opt;
    namespace ex = kiln::examples;
    ex::command_line cli{"Trains the course's Fashion-MNIST MLP (784-128-10) with kiln and reports "
                         "its test accuracy at the best validation epoch."};
    ex::add_recipe_options(cli, opt);
    cli.option("--random_seed", opt.random_seed, "seed of the split, initialization and shuffling",
               ex::whole_number_at_least(0));
    cli.option(
        "--init", opt.init,
        "how the network starts: normal (the course's N(0, 0.1)), pytorch "
        "(U(+-1/sqrt(fan_in))) or glorot (Keras's Glorot uniform, zero bias, as the course's "
        "TensorFlow notebooks); a resumed run continues from its checkpoint's parameters",
        ex::one_of(ex::init_scheme_names));
    cli.flag("--check_gradient", opt.check_gradient,
             "compare backprop with central differences on a few parameters");
    cli.flag("--check_magnitude", opt.check_magnitude,
             "print the first layer's summed weight gradient on 50 and 5000 examples");
    cli.flag("--test_each_epoch", opt.test_each_epoch,
             "score the test set after every epoch too (JSON key test_each_epoch; kept out of the "
             "training time)");
    cli.option("--watch_patience", opt.watch_patience,
               "record where early stopping with this patience would have stopped, without "
               "stopping (JSON keys watch_stop_epoch, watch_best_epoch; 0: off)",
               ex::whole_number_at_least(0));
    cli.option("--data_dir", opt.data_dir, "folder with the Fashion-MNIST IDX files");
    cli.option("--out_dir", opt.out_dir, "folder for MLP_lr{lr}_b{batch}.json",
               ex::folder_to_write());
    cli.option("--save", opt.save,
               "write the whole training state to this file after every epoch (atomically)",
               ex::file_to_write());
    cli.option("--resume", opt.resume,
               "continue the run saved in this file (by --save) exactly where it stopped, on the "
               "same data; options left out are the run's own; without --save, it saves to this "
               "file",
               ex::existing_file());
    cli.flag("--force_resume", opt.force_resume,
             "with --resume: continue even when the data differ from the run's (its size, or the "
             "CRC-32 of its images or labels)");
    cli.flag("--data_parallel", opt.data_parallel, ex::data_parallel_help);
    cli.flag("--sweep", opt.sweep,
             "run the batch-size study (minibatch 1, 5, 50, 500, 5000), each from the same start; "
             "under mpirun, one batch size per process");
    if (auto exit_code = cli.parse(argc, argv)) return *exit_code;

    const ex::process_role role = ex::role_asked(opt.data_parallel, opt.sweep);
    return ex::run_in_processes("mlp", role, "--data_parallel", [&](const ex::processes& procs) {
        if (opt.sweep) {
            if (opt.data_parallel || !opt.save.empty() || !opt.resume.empty() ||
                cli.given("--minibatch_size"))
                throw std::invalid_argument(
                    "--sweep runs the batch-size study's runs (minibatch 1, 5, 50, 500, 5000), "
                    "one per process: leave out --data_parallel, --save, --resume and "
                    "--minibatch_size");
            run_sweep(opt, procs);
            return 0;
        }
        if (opt.force_resume && opt.resume.empty())
            throw std::invalid_argument("--force_resume goes with --resume");
        std::optional<kiln::checkpoint> resume_from;
        if (!opt.resume.empty()) {
            resume_from = kiln::checkpoint::load<mlp, float>(opt.resume);
            adopt_options(*resume_from, cli, opt);
            // A resumed run goes on saving where it was saved, checked now, not after
            // an epoch of training.
            if (opt.save.empty()) {
                opt.save = opt.resume;
                try {
                    kiln::require_writable(opt.save);
                } catch (const std::system_error& failure) {
                    throw std::runtime_error("--resume " + opt.resume +
                                             ": the resumed run saves to it after every epoch "
                                             "(there is no --save), but " +
                                             failure.what());
                }
            }
        }
        std::printf("%s\n", run(opt, resume_from ? &*resume_from : nullptr, procs).c_str());
        return 0;
    });
}
