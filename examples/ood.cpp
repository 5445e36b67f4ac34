// The course's out-of-distribution study (SEED.md part E): the MLP, CNN2 and CNN3
// trained with one recipe (SGD, learning rate 0.01, batch 5, early stopping with
// patience 3 on validation accuracy, at most 50 epochs), then each best model
// scored on the test set as it is, moved up 4 pixels, and turned by 90, 180 and
// 270 degrees. Prints one table and writes it, with each run's history, as JSON.
#include "common/command_line.hpp"
#include "common/init_scheme.hpp"
#include "common/json_writer.hpp"
#include "common/run_reporting_errors.hpp"

#include <kiln/data/fashion_mnist.hpp>
#include <kiln/data/ood.hpp>
#include <kiln/kiln.hpp>
#include <kiln/train/check_finite.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

namespace {

// The three networks. Images enter as 28 x 28: conv2d reads a rank-2 image as one channel.
using mlp = kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear<128>, kiln::relu,
                             kiln::linear<10>>;
using cnn2 = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;
using cnn3 = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::conv2d<128, 2>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;
static_assert(mlp::param_count == 101'770, "the course's MLP has 101,770 parameters");
static_assert(cnn2::param_count == 80'650, "the course's CNN2 has 80,650 parameters");
static_assert(cnn3::param_count == 68'106, "the course's CNN3 has 68,106 parameters");

using image = kiln::shape<28, 28>;
using image_set = kiln::data::fashion_mnist_set<float>;

struct options {
    std::size_t minibatch_size = 5;
    double learning_rate = 0.01;
    double momentum = 0.0;
    std::size_t num_epoch = 50;
    std::size_t early_stopping_patience = 3;
    std::size_t shift_pixels = 4;
    std::uint64_t random_seed = 42;
    std::string cnn_init = "pytorch";
    std::string mlp_init = "normal";
    std::vector<std::string> models{"mlp", "cnn2", "cnn3"};
    std::string data_dir{kiln::data::default_fashion_mnist_dir};
    std::string out = "ood.json";
};

// The training split, and the five test sets every model is scored on.
struct study_data {
    kiln::data::fashion_mnist<float> split;
    static constexpr std::size_t test_count = 5;
    std::array<std::string, test_count> test_names{"in-domain", "shifted", "rot90", "rot180",
                                                   "rot270"};
    std::array<image_set, test_count> tests;
};

struct model_result {
    std::string name;
    std::size_t parameters = 0;
    std::size_t epochs = 0, best_epoch = 0;
    double best_validation = 0, seconds = 0;
    std::vector<double> train_accuracy, validation_accuracy, train_loss;
    std::array<double, study_data::test_count> test_accuracy{};
};

// Trains one network from the initialization named (--cnn_init, --mlp_init) with the
// recipe and scores its best epoch on every test set. The scheme is chosen at run
// time, so the training loop compiles once per network, not once per scheme. A NaN
// or an infinity stops the study (exit code 3), naming the model, the step and the
// layer.
template <class Net>
model_result train_and_score(const std::string& name, const std::string& init, const options& opt,
                             const study_data& data) try {
    const image_set& train_set = data.split.train;
    const std::size_t batch = opt.minibatch_size;
    std::printf("\n== %s ==\n%s", name.c_str(), Net::summary().c_str());

    // Each model starts from the seed: its initialization and shuffles do not
    // depend on which other models run.
    kiln::rng random(opt.random_seed);
    kiln::model<Net> net;
    kiln::examples::with_init_scheme(init,
                                     [&](const auto& scheme) { net.initialize(scheme, random); });
    kiln::trainer<Net> train(net, kiln::sgd{opt.learning_rate, opt.momentum}, batch);
    kiln::workspace<Net, float> evaluation_space(100);
    kiln::early_stopping stopper(opt.early_stopping_patience);
    kiln::aligned_buffer<float> best_parameters(net.parameters().size());

    kiln::shuffled_batches batches(train_set, batch);

    model_result result;
    result.name = name;
    result.parameters = Net::param_count;
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    for (std::size_t epoch = 1; epoch <= opt.num_epoch; ++epoch) {
        const auto epoch_start = clock::now();
        kiln::progress_bar bar(stdout, name + " epoch " + std::to_string(epoch),
                               batches.steps_per_epoch());
        const std::size_t steps = batches.steps_per_epoch();
        batches.epoch(random, [&](std::size_t step, auto inputs, auto labels) {
            const float loss = train.step(inputs, labels);
            kiln::check_finite(loss, train, (epoch - 1) * steps + step + 1);
            bar.update(step + 1);
        });
        bar.finish();
        const auto on_train =
            kiln::evaluate(net, evaluation_space, train_set.inputs(), train_set.labels());
        const auto on_validation = kiln::evaluate(
            net, evaluation_space, data.split.validation.inputs(), data.split.validation.labels());
        kiln::check_finite_evaluation(on_train.loss, net, train_set.inputs(), epoch * steps,
                                      "the training set");
        kiln::check_finite_evaluation(on_validation.loss, net, data.split.validation.inputs(),
                                      epoch * steps, "the validation set");
        result.train_loss.push_back(on_train.loss);
        result.train_accuracy.push_back(on_train.accuracy);
        result.validation_accuracy.push_back(on_validation.accuracy);
        const bool improved = stopper.record(on_validation.accuracy);
        if (improved)
            std::copy(net.parameters().begin(), net.parameters().end(), best_parameters.data());
        std::printf("train loss %.4f  train acc %.4f  val acc %.4f%s  (%.2f s)\n", on_train.loss,
                    on_train.accuracy, on_validation.accuracy, improved ? " *" : "",
                    std::chrono::duration<double>(clock::now() - epoch_start).count());
        std::fflush(stdout);
        if (stopper.should_stop()) {
            std::printf("early stopping: no better validation accuracy for %zu epochs\n",
                        opt.early_stopping_patience);
            break;
        }
    }
    result.seconds = std::chrono::duration<double>(clock::now() - start).count();
    result.epochs = stopper.epochs();
    result.best_epoch = stopper.best_epoch();
    result.best_validation = stopper.best_score();

    std::copy(best_parameters.data(), best_parameters.data() + best_parameters.size(),
              net.parameters().begin());
    for (std::size_t t = 0; t < study_data::test_count; ++t) {
        const auto on_test =
            kiln::evaluate(net, evaluation_space, data.tests[t].inputs(), data.tests[t].labels());
        kiln::check_finite_evaluation(on_test.loss, net, data.tests[t].inputs(),
                                      result.epochs * batches.steps_per_epoch(),
                                      "the " + data.test_names[t] + " test set");
        result.test_accuracy[t] = on_test.accuracy;
    }
    std::printf("best epoch %zu (val acc %.4f); test accuracy %.4f; training time %.1f s\n",
                result.best_epoch, result.best_validation, result.test_accuracy[0], result.seconds);
    return result;
} catch (const kiln::non_finite_error& failure) {
    throw kiln::non_finite_error(name + ": " + failure.what(), failure.step(), failure.layer());
}

model_result run_model(const std::string& name, const options& opt, const study_data& data) {
    if (name == "mlp") return train_and_score<mlp>(name, opt.mlp_init, opt, data);
    if (name == "cnn2") return train_and_score<cnn2>(name, opt.cnn_init, opt, data);
    return train_and_score<cnn3>(name, opt.cnn_init, opt, data);
}

void print_table(const std::vector<model_result>& results, const study_data& data,
                 const options& opt) {
    std::printf("\ntest accuracy of each model's best epoch (shifted: up %zu pixels; rotations "
                "counter-clockwise)\n",
                opt.shift_pixels);
    std::printf("%-6s %10s %7s %5s %9s", "model", "parameters", "epochs", "best", "time (s)");
    for (const auto& name : data.test_names)
        std::printf(" %10s", name.c_str());
    std::printf("\n");
    for (const auto& r : results) {
        std::printf("%-6s %10zu %7zu %5zu %9.1f", r.name.c_str(), r.parameters, r.epochs,
                    r.best_epoch, r.seconds);
        for (const double accuracy : r.test_accuracy)
            std::printf(" %10.4f", accuracy);
        std::printf("\n");
    }
}

void write_json(const std::vector<model_result>& results, const study_data& data,
                const options& opt) {
    kiln::examples::json_object recipe;
    recipe.number("minibatch_size", static_cast<double>(opt.minibatch_size))
        .number("learning_rate", opt.learning_rate)
        .number("momentum", opt.momentum)
        .number("num_epoch", static_cast<double>(opt.num_epoch))
        .number("early_stopping_patience", static_cast<double>(opt.early_stopping_patience))
        .number("shift_pixels", static_cast<double>(opt.shift_pixels))
        .number("random_seed", static_cast<double>(opt.random_seed))
        .string("cnn_init", opt.cnn_init)
        .string("mlp_init", opt.mlp_init);
    kiln::examples::json_object models;
    for (const auto& r : results) {
        kiln::examples::json_object tests;
        for (std::size_t t = 0; t < study_data::test_count; ++t)
            tests.number(data.test_names[t], r.test_accuracy[t]);
        kiln::examples::json_object entry;
        entry.number("parameters", static_cast<double>(r.parameters))
            .number("epochs", static_cast<double>(r.epochs))
            .number("best_epoch", static_cast<double>(r.best_epoch))
            .number("best_val", r.best_validation)
            .number("time", r.seconds)
            .object("test", tests)
            .numbers("train", r.train_accuracy)
            .numbers("val", r.validation_accuracy)
            .numbers("train_loss", r.train_loss);
        models.object(r.name, entry);
    }
    // The first few images of every test set, for a figure of what the models were scored on.
    const std::size_t shown = std::min<std::size_t>(5, data.tests[0].size());
    kiln::examples::json_object examples;
    for (std::size_t t = 0; t < study_data::test_count; ++t) {
        const auto images = data.tests[t].inputs().rows(0, shown);
        examples.numbers(data.test_names[t],
                         std::vector<double>(images.data(), images.data() + images.size()));
    }
    kiln::examples::json_object()
        .object("recipe", recipe)
        .object("models", models)
        .number("example_count", static_cast<double>(shown))
        .object("examples", examples)
        .write(opt.out);
    std::printf("wrote %s\n", opt.out.c_str());
}

int run(const options& opt) {
    study_data data;
    data.split = kiln::data::load_fashion_mnist<float>(opt.data_dir, opt.random_seed);
    if (opt.minibatch_size > data.split.train.size())
        throw std::invalid_argument("--minibatch_size " + std::to_string(opt.minibatch_size) +
                                    " is larger than the training set (" +
                                    std::to_string(data.split.train.size()) + " examples)");
    const image_set& test = data.split.test;
    data.tests = {test, kiln::data::shifted_up(test, opt.shift_pixels), kiln::data::rot90<1>(test),
                  kiln::data::rot90<2>(test), kiln::data::rot90<3>(test)};
    std::printf("data: %zu train, %zu validation, %zu test from %s\n", data.split.train.size(),
                data.split.validation.size(), test.size(), opt.data_dir.c_str());

    std::vector<model_result> results;
    for (const auto& name : opt.models)
        results.push_back(run_model(name, opt, data));
    print_table(results, data, opt);
    write_json(results, data, opt);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    options opt;
    namespace ex = kiln::examples;
    ex::command_line cli{"The course's out-of-distribution study: trains the MLP, CNN2 and CNN3 "
                         "on Fashion-MNIST with one recipe and scores each on the test set as it "
                         "is, shifted up and rotated."};
    ex::add_recipe_options(cli, opt);
    cli.option("--shift_pixels", opt.shift_pixels, "how far the shifted test set moves up",
               ex::whole_number_in(0, 28));
    cli.option("--random_seed", opt.random_seed,
               "seed of the split, and of each model's initialization and shuffling",
               ex::whole_number_at_least(0));
    cli.option("--cnn_init", opt.cnn_init,
               "how the CNNs start: pytorch (U(+-1/sqrt(fan_in)), as nn.Conv2d and nn.Linear), "
               "normal (N(0, 0.1), as the course's MLP) or glorot (Keras's Glorot uniform, zero "
               "bias, as the course's TensorFlow notebooks)",
               ex::one_of(ex::init_scheme_names));
    cli.option("--mlp_init", opt.mlp_init,
               "how the MLP starts: normal (the course's N(0, 0.1)), pytorch or glorot",
               ex::one_of(ex::init_scheme_names));
    cli.option("--models", opt.models, "which models to train, in order",
               ex::one_of({"mlp", "cnn2", "cnn3"}));
    cli.option("--data_dir", opt.data_dir, "folder with the Fashion-MNIST IDX files");
    cli.option("--out", opt.out, "the JSON results file", ex::file_to_write());
    if (auto exit_code = cli.parse(argc, argv)) return *exit_code;

    return ex::run_reporting_errors("ood", [&] { return run(opt); });
}
