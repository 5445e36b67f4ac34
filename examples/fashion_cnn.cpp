// A modern small CNN (examples/common/fashion_cnn_network.hpp: `same`-padded
// convolutions, depthwise-separable blocks, batch_norm, dropout, global average
// pooling) trained on all 60,000 Fashion-MNIST training images and scored on the
// 10,000 test images. The recipe: mini-batches of 32 shuffled each epoch, AdamW
// (no weight decay) at 2e-3 under a cosine schedule to 0 over every step, 8
// epochs. bench/peers/fashion_cnn.py trains the same network with the same recipe
// in PyTorch; docs/performance.md compares the two.
//
// Prints each epoch's training loss, test accuracy and time, and writes them as
// JSON. The test set is only watched: no epoch is chosen by it, the score is the
// last epoch's.
#include "common/command_line.hpp"
#include "common/fashion_cnn_network.hpp"
#include "common/json_writer.hpp"
#include "common/run_reporting_errors.hpp"

#include <kiln/data/fashion_mnist.hpp>
#include <kiln/kiln.hpp>
#include <kiln/train/check_finite.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace recipe = kiln::examples::fashion_cnn;
using network = recipe::network;

struct options {
    std::size_t minibatch_size = recipe::batch;
    double learning_rate = recipe::learning_rate;
    std::size_t num_epoch = recipe::epochs;
    std::uint64_t random_seed = 42;
    std::size_t train_images = 0, test_images = 0; // 0: all
    std::string data_dir{kiln::data::default_fashion_mnist_dir};
    std::string out = "fashion_cnn.json";
};

struct epoch_record {
    double train_loss, test_loss, test_accuracy, seconds;
};

void write_json(const options& opt, const std::vector<epoch_record>& history,
                double training_seconds) {
    kiln::examples::json_object settings;
    settings.number("minibatch_size", static_cast<double>(opt.minibatch_size))
        .number("learning_rate", opt.learning_rate)
        .number("num_epoch", static_cast<double>(opt.num_epoch))
        .number("random_seed", static_cast<double>(opt.random_seed))
        .number("train_images", static_cast<double>(opt.train_images))
        .number("test_images", static_cast<double>(opt.test_images))
        .string("optimizer", "adamw, weight decay 0, cosine schedule to 0");
    std::vector<double> train_loss, test_loss, test_accuracy, seconds;
    for (const auto& epoch : history) {
        train_loss.push_back(epoch.train_loss);
        test_loss.push_back(epoch.test_loss);
        test_accuracy.push_back(epoch.test_accuracy);
        seconds.push_back(epoch.seconds);
    }
    kiln::examples::json_object()
        .object("recipe", settings)
        .number("parameters", static_cast<double>(network::param_count))
        .number("test_accuracy", test_accuracy.back())
        .number("training_seconds", training_seconds)
        .numbers("train_loss", train_loss)
        .numbers("test_loss", test_loss)
        .numbers("test_accuracy_per_epoch", test_accuracy)
        .numbers("epoch_seconds", seconds)
        .write(opt.out);
    std::printf("wrote %s\n", opt.out.c_str());
}

// The first `count` images of a set (all of them for 0), for a quick run.
kiln::data::fashion_mnist_set<float> first_images(const kiln::data::fashion_mnist_set<float>& set,
                                                  std::size_t count, const char* flag) {
    if (count == 0) return set;
    if (count > set.size())
        throw std::invalid_argument(std::string(flag) + " " + std::to_string(count) +
                                    " is more than the file holds (" + std::to_string(set.size()) +
                                    " images)");
    std::vector<std::size_t> indices(count);
    for (std::size_t i = 0; i < count; ++i)
        indices[i] = i;
    return set.subset(indices);
}

int run(const options& opt) {
    const std::filesystem::path dir = opt.data_dir;
    const auto train_set =
        first_images(kiln::data::load_fashion_mnist_pair<float>(dir / "train-images-idx3-ubyte.gz",
                                                                dir / "train-labels-idx1-ubyte.gz"),
                     opt.train_images, "--train_images");
    const auto test_set =
        first_images(kiln::data::load_fashion_mnist_pair<float>(dir / "t10k-images-idx3-ubyte.gz",
                                                                dir / "t10k-labels-idx1-ubyte.gz"),
                     opt.test_images, "--test_images");
    if (opt.minibatch_size > train_set.size())
        throw std::invalid_argument("--minibatch_size " + std::to_string(opt.minibatch_size) +
                                    " is larger than the training set (" +
                                    std::to_string(train_set.size()) + " examples)");
    std::printf("data: %zu train, %zu test from %s\n%s", train_set.size(), test_set.size(),
                opt.data_dir.c_str(), network::summary().c_str());

    kiln::rng random(opt.random_seed);
    kiln::model<network> net(kiln::init::pytorch_default{}, random);
    kiln::trainer<network, kiln::softmax_cross_entropy, kiln::adamw> train(
        net, kiln::adamw{.learning_rate = opt.learning_rate, .weight_decay = 0.0},
        opt.minibatch_size);
    train.set_seed(opt.random_seed);
    kiln::shuffled_batches batches(train_set, opt.minibatch_size);
    const std::size_t steps = batches.steps_per_epoch();
    train.set_schedule(kiln::cosine_annealing{.steps = steps * opt.num_epoch, .floor = 0.0});
    kiln::workspace<network, float> evaluation_space(500);

    using clock = std::chrono::steady_clock;
    std::vector<epoch_record> history;
    double training_seconds = 0;
    for (std::size_t epoch = 1; epoch <= opt.num_epoch; ++epoch) {
        kiln::progress_bar bar(stdout, "epoch " + std::to_string(epoch), steps);
        double loss_sum = 0;
        const auto start = clock::now();
        batches.epoch(random, [&](std::size_t step, auto inputs, auto labels) {
            const float loss = train.step(inputs, labels);
            kiln::check_finite(loss, train, (epoch - 1) * steps + step + 1);
            loss_sum += loss;
            bar.update(step + 1);
        });
        const double seconds = std::chrono::duration<double>(clock::now() - start).count();
        bar.finish();
        training_seconds += seconds;
        const auto on_test =
            kiln::evaluate(net, evaluation_space, test_set.inputs(), test_set.labels());
        kiln::check_finite_evaluation(on_test.loss, net, test_set.inputs(), epoch * steps,
                                      "the test set");
        history.push_back(
            {loss_sum / static_cast<double>(steps), on_test.loss, on_test.accuracy, seconds});
        std::printf("train loss %.4f  test loss %.4f  test acc %.4f  (%.1f s)\n",
                    history.back().train_loss, on_test.loss, on_test.accuracy, seconds);
        std::fflush(stdout);
    }
    std::printf("test accuracy %.4f after %zu epochs; training time %.1f s\n",
                history.back().test_accuracy, opt.num_epoch, training_seconds);
    write_json(opt, history, training_seconds);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    options opt;
    namespace ex = kiln::examples;
    ex::command_line cli{"A small modern CNN (depthwise-separable blocks, batch_norm, dropout, "
                         "global average pooling) trained on all 60,000 Fashion-MNIST training "
                         "images with AdamW and a cosine schedule; prints its test accuracy."};
    cli.option("--minibatch_size", opt.minibatch_size, "examples per step",
               ex::whole_number_at_least(1));
    cli.option("--learning_rate", opt.learning_rate, "AdamW's peak learning rate", ex::at_least(0));
    cli.option("--num_epoch", opt.num_epoch, "epochs (the cosine schedule spans them all)",
               ex::whole_number_at_least(1));
    cli.option("--random_seed", opt.random_seed,
               "seed of the initialization, the shuffles and dropout's masks",
               ex::whole_number_at_least(0));
    cli.option("--train_images", opt.train_images,
               "train on the first N training images only, for a quick run (0: all 60,000)",
               ex::whole_number_at_least(0));
    cli.option("--test_images", opt.test_images,
               "score the first N test images only (0: all 10,000)", ex::whole_number_at_least(0));
    cli.option("--data_dir", opt.data_dir, "folder with the Fashion-MNIST IDX files");
    cli.option("--out", opt.out, "the JSON results file", ex::file_to_write());
    if (auto exit_code = cli.parse(argc, argv)) return *exit_code;

    return ex::run_reporting_errors("fashion_cnn", [&] { return run(opt); });
}
