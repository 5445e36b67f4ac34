// The course's multiclass perceptron (SEED.md A) on the Fashion-MNIST split.
// Algorithm 1 is a kiln network: a bias-free linear layer scored by the
// multiclass perceptron loss, weights from zero, SGD with rate 1 on one example
// at a time. Algorithm 2 keeps coefficients over the examples instead and scores
// through a kernel (polynomial, RBF); with the linear kernel it is Algorithm 1.
// Both visit the examples in the same shuffled order; each epoch reports the
// fraction of examples seen that were classified right before the update
// (online training accuracy) and the validation accuracy; the test set scores
// the final model.
#include "common/command_line.hpp"
#include "common/json_writer.hpp"
#include "common/run_reporting_errors.hpp"

#include <kiln/data/fashion_mnist.hpp>
#include <kiln/kiln.hpp>
#include <kiln/train/check_finite.hpp>
#include <kiln/train/kernel_perceptron.hpp>

#include <chrono>
#include <cstdio>
#include <numeric>
#include <vector>

namespace {

using image = kiln::shape<28, 28>;
using perceptron = kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear_no_bias<10>>;
static_assert(perceptron::param_count == 7'840);
using dataset = kiln::data::fashion_mnist<float>;

// A kernel value takes `degree` products, so the degree is bounded (2^31 would
// make each of millions of kernel values take seconds). A degree well below the
// bound can overflow float already (x.z + 1 reaches hundreds on Fashion-MNIST):
// the kernel perceptron then stops with exit code 3.
constexpr int max_degree = 64;

struct options {
    std::size_t num_epoch = 10;       // Algorithm 1
    std::size_t kernel_epochs = 3;    // Algorithm 2, per kernel
    std::size_t kernel_train = 10000; // the first this many training examples
    int degree = 2;
    double offset = 1.0;
    double gamma = 0.02;
    std::vector<std::string> kernels{"polynomial", "rbf"};
    std::uint64_t random_seed = 42;
    std::string data_dir{kiln::data::default_fashion_mnist_dir};
    std::string out = "perceptron.json";
};

// One algorithm's history.
struct history {
    std::vector<double> train, val;
    std::vector<double> mistakes;
    double test = 0, seconds = 0;
    std::size_t support = 0;

    kiln::examples::json_object json() const {
        kiln::examples::json_object o;
        o.numbers("train", train).numbers("val", val).numbers("mistakes", mistakes);
        o.number("test", test).number("time", seconds);
        if (support) o.number("support", static_cast<double>(support));
        return o;
    }
    void print_epoch(const char* name) const {
        std::printf("%-10s epoch %2zu  mistakes %6.0f  train acc (online) %.4f  val acc %.4f\n",
                    name, train.size(), mistakes.back(), train.back(), val.back());
        std::fflush(stdout);
    }
};

using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

// The loop both algorithms share: `epochs` passes over examples 0 .. count - 1 in
// a shuffled order, learn(n) taking one step on example n and saying whether it
// was a mistake, validate() scoring the model after each epoch.
template <class Learn, class Validate>
history train_epochs(const char* name, std::size_t epochs, std::size_t count, std::uint64_t seed,
                     Learn&& learn, Validate&& validate) {
    kiln::rng random(seed);
    std::vector<std::size_t> order(count);
    std::iota(order.begin(), order.end(), std::size_t{0});
    history h;
    for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
        random.shuffle(std::span<std::size_t>(order));
        const auto start = clock_type::now();
        std::size_t mistakes = 0;
        for (const std::size_t n : order)
            mistakes += learn(n);
        h.seconds += seconds_since(start);
        h.mistakes.push_back(static_cast<double>(mistakes));
        h.train.push_back(1.0 - static_cast<double>(mistakes) / static_cast<double>(count));
        h.val.push_back(validate());
        h.print_epoch(name);
    }
    return h;
}

// Algorithm 1 with kiln: a step at batch 1 is the perceptron's update.
history run_linear(const options& opt, const dataset& data) {
    kiln::model<perceptron> net(kiln::init::normal{0.0, 0.0}, opt.random_seed); // all zero
    kiln::trainer<perceptron, kiln::multiclass_perceptron> train(
        net, kiln::sgd{.learning_rate = 1.0}, 1);
    kiln::workspace<perceptron, float> scoring(1000);
    const auto inputs = data.train.inputs();
    const auto labels = data.train.labels();
    using loss = kiln::bound_loss<kiln::multiclass_perceptron, perceptron>;
    std::uint64_t steps = 0;
    auto learn = [&](std::size_t n) {
        // A mistake: the top class is not the label (the step then updates).
        const auto example = inputs.rows(n, 1);
        const auto scores = kiln::forward(net, train.space(), example);
        const bool mistake = loss::predict(scores[0].data()) != std::size_t(labels[n]);
        kiln::check_finite(train.step(example, labels.rows(n, 1)), train, ++steps);
        return mistake;
    };
    // The mean loss over a set, checked (exit code 3 on a NaN), and the accuracy.
    auto score = [&](const kiln::data::fashion_mnist_set<float>& set, const char* name) {
        const auto result =
            kiln::evaluate<kiln::multiclass_perceptron>(net, scoring, set.inputs(), set.labels());
        kiln::check_finite_evaluation(result.loss, net, set.inputs(), steps, name);
        return result.accuracy;
    };
    auto validate = [&] { return score(data.validation, "the validation set"); };
    history h =
        train_epochs("linear", opt.num_epoch, data.train.size(), opt.random_seed, learn, validate);
    h.test = score(data.test, "the test set");
    std::printf("linear     test acc %.4f  training time %.2f s\n", h.test, h.seconds);
    return h;
}

// Algorithm 2 with one kernel, on the first kernel_train training examples.
template <class Kernel>
history run_kernel(const char* name, const Kernel& kernel, const options& opt,
                   const dataset& data) {
    const std::size_t count = std::min(opt.kernel_train, data.train.size());
    kiln::kernel_perceptron<image, 10, Kernel> learner(kernel, count);
    const auto inputs = data.train.inputs();
    const auto labels = data.train.labels();
    history h = train_epochs(
        name, opt.kernel_epochs, count, opt.random_seed,
        [&](std::size_t n) { return learner.learn(inputs[n].data(), n, labels[n]); },
        [&] { return learner.accuracy(data.validation.inputs(), data.validation.labels()); });
    h.support = learner.support_size();
    h.test = learner.accuracy(data.test.inputs(), data.test.labels());
    std::printf("%-10s test acc %.4f  support %zu examples  training time %.2f s\n", name, h.test,
                h.support, h.seconds);
    return h;
}

int run(const options& opt) {
    const dataset data = kiln::data::load_fashion_mnist<float>(opt.data_dir, opt.random_seed);
    std::printf("%s", perceptron::summary().c_str());
    std::printf("data: %zu train, %zu validation, %zu test from %s\n", data.train.size(),
                data.validation.size(), data.test.size(), opt.data_dir.c_str());
    kiln::examples::json_object results;
    results.object("linear", run_linear(opt, data).json());
    for (const auto& name : opt.kernels) {
        if (name == "polynomial")
            results.object(
                name,
                run_kernel("polynomial", kiln::polynomial_kernel{opt.degree, opt.offset}, opt, data)
                    .json());
        else
            results.object(name, run_kernel("rbf", kiln::rbf_kernel{opt.gamma}, opt, data).json());
    }
    kiln::examples::json_object settings;
    settings.number("degree", opt.degree)
        .number("offset", opt.offset)
        .number("gamma", opt.gamma)
        .number("kernel_train", static_cast<double>(std::min(opt.kernel_train, data.train.size())))
        .number("random_seed", static_cast<double>(opt.random_seed));
    results.object("settings", settings).write(opt.out);
    std::printf("wrote %s\n", opt.out.c_str());
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    options opt;
    namespace ex = kiln::examples;
    ex::command_line cli{"The course's multiclass perceptron on Fashion-MNIST: Algorithm 1 (a kiln "
                         "network, SGD with rate 1) and Algorithm 2 (kernelized: polynomial, "
                         "RBF)."};
    cli.option("--num_epoch", opt.num_epoch, "epochs of Algorithm 1", ex::whole_number_at_least(1));
    cli.option("--kernel_epochs", opt.kernel_epochs, "epochs of Algorithm 2, per kernel",
               ex::whole_number_at_least(1));
    cli.option("--kernel_train", opt.kernel_train,
               "Algorithm 2 trains on the first this many training examples",
               ex::whole_number_at_least(1));
    cli.option("--degree", opt.degree,
               "polynomial kernel (x.z + offset)^degree, computed by repeated products",
               ex::whole_number_in(1, max_degree));
    cli.option("--offset", opt.offset, "polynomial kernel's offset", ex::at_least(0));
    cli.option("--gamma", opt.gamma, "RBF kernel exp(-gamma |x - z|^2)", ex::at_least(0));
    cli.option("--kernels", opt.kernels, "kernels of Algorithm 2, in order",
               ex::one_of({"polynomial", "rbf"}));
    cli.option("--random_seed", opt.random_seed, "seed of the split and the example order",
               ex::whole_number_at_least(0));
    cli.option("--data_dir", opt.data_dir, "folder with the Fashion-MNIST IDX files");
    cli.option("--out", opt.out, "the JSON results file", ex::file_to_write());
    if (auto exit_code = cli.parse(argc, argv)) return *exit_code;
    return ex::run_reporting_errors("perceptron", [&] { return run(opt); });
}
