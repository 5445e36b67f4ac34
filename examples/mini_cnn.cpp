// The course's mini CNN (SEED.md B): three inputs, a 1-D convolution with a 2-tap
// filter and no bias, relu, a bias-free linear layer to one output, the logistic
// loss with labels in {-1, +1}; SGD on one random example at a time. The data
// set is synthetic: inputs from N(0, 1), labelled by the sign of a teacher network
// of the same shape with random weights, so that the student can reach it.
#include "common/command_line.hpp"
#include "common/json_writer.hpp"
#include "common/run_reporting_errors.hpp"

#include <kiln/kiln.hpp>
#include <kiln/train/check_finite.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <vector>

namespace {

using mini_cnn = kiln::sequential<kiln::input<3>, kiln::conv1d_no_bias<1, 2>, kiln::relu,
                                  kiln::flatten, kiln::linear_no_bias<1>>;
static_assert(mini_cnn::param_count == 4, "w1, w2, v1, v2");
using example = kiln::shape<3>;

struct options {
    std::size_t train_count = 1000;
    std::size_t test_count = 1000;
    std::size_t num_epoch = 20;
    double learning_rate = 0.1;
    std::uint64_t random_seed = 42;
    std::string out = "mini_cnn.json";
};

// Examples from N(0, 1)^3, labelled by the teacher's sign (+1 when positive).
struct synthetic_set {
    std::vector<float> inputs;
    std::vector<kiln::label_t> labels;
    std::size_t size() const { return labels.size(); }
    kiln::batch_view<example, const float> inputs_view() const { return {inputs.data(), size()}; }
    // Made from labels this program wrote (-1 and +1): not looked at again.
    kiln::sign_label_view labels_view() const {
        return {labels.data(), size(), kiln::labels_checked};
    }
};

// What one example of a set costs: its inputs and label, and its part of the
// workspace the teacher labels the set in. Checked for the whole set before
// anything is allocated, so that an impossible count is refused naming its flag.
struct example_memory {
    float inputs[example::size];
    kiln::label_t label;
    float pass[mini_cnn::network_runner::saved_per_example];
};
void check_set_size(std::size_t count, const char* flag) {
    (void)kiln::checked_bytes<example_memory>(count,
                                              std::string(flag) + " " + std::to_string(count));
}

synthetic_set make_set(std::size_t count, const kiln::model<mini_cnn>& teacher,
                       kiln::workspace<mini_cnn>& space, kiln::rng& random) {
    synthetic_set set;
    set.inputs.resize(count * example::size);
    set.labels.reserve(count);
    for (auto& x : set.inputs)
        x = static_cast<float>(random.normal());
    const auto scores = kiln::forward(
        teacher, space, kiln::batch_view<example, const float>(set.inputs.data(), count));
    for (std::size_t n = 0; n < count; ++n)
        set.labels.push_back(scores[n][0] > 0 ? 1 : -1);
    std::printf("synthetic set: %zu examples, %zu labelled +1\n", count,
                static_cast<std::size_t>(std::count(set.labels.begin(), set.labels.end(), 1)));
    return set;
}

// w1, w2, v1, v2 in the course's names.
std::vector<double> named_weights(const kiln::model<mini_cnn>& net) {
    const float* const w = net.parameters_of<1>();
    const float* const v = net.parameters_of<4>();
    using conv = mini_cnn::layer_t<1>;
    using dense = mini_cnn::layer_t<4>;
    return {w[conv::weight_at(0, 0, 0)], w[conv::weight_at(1, 0, 0)], v[dense::weight_at(0, 0)],
            v[dense::weight_at(1, 0)]};
}

int run(const options& opt) {
    check_set_size(opt.train_count, "--train_count");
    check_set_size(opt.test_count, "--test_count");
    std::printf("%s", mini_cnn::summary().c_str());
    kiln::rng random(opt.random_seed);
    const kiln::model<mini_cnn> teacher(kiln::init::normal{0.0, 1.0}, random);
    kiln::workspace<mini_cnn> space(std::max(opt.train_count, opt.test_count));
    const synthetic_set train_set = make_set(opt.train_count, teacher, space, random);
    const synthetic_set test_set = make_set(opt.test_count, teacher, space, random);

    kiln::model<mini_cnn> net(kiln::init::normal{0.0, 1.0}, random);
    kiln::trainer<mini_cnn, kiln::logistic> train(net, kiln::sgd{opt.learning_rate}, 1);
    std::vector<double> train_loss, train_accuracy, test_accuracy;
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const auto train_inputs = train_set.inputs_view();
    const auto train_labels = train_set.labels_view();
    for (std::size_t epoch = 1; epoch <= opt.num_epoch; ++epoch) {
        // One random example at a time, as many as the set holds.
        for (std::size_t step = 0; step < train_set.size(); ++step) {
            const std::size_t n = random.below(train_set.size());
            const float loss = train.step(train_inputs.rows(n, 1), train_labels.rows(n, 1));
            kiln::check_finite(loss, train, (epoch - 1) * train_set.size() + step + 1);
        }
        const auto on_train =
            kiln::evaluate<kiln::logistic>(net, space, train_inputs, train_labels);
        const auto on_test = kiln::evaluate<kiln::logistic>(net, space, test_set.inputs_view(),
                                                            test_set.labels_view());
        const std::uint64_t steps_done = epoch * train_set.size();
        kiln::check_finite_evaluation(on_train.loss, net, train_inputs, steps_done,
                                      "the training set");
        kiln::check_finite_evaluation(on_test.loss, net, test_set.inputs_view(), steps_done,
                                      "the test set");
        train_loss.push_back(on_train.loss);
        train_accuracy.push_back(on_train.accuracy);
        test_accuracy.push_back(on_test.accuracy);
        std::printf("epoch %2zu  train loss %.4f  train acc %.4f  test acc %.4f\n", epoch,
                    on_train.loss, on_train.accuracy, on_test.accuracy);
    }
    const double seconds = std::chrono::duration<double>(clock::now() - start).count();
    const auto weights = named_weights(net);
    const auto teacher_weights = named_weights(teacher);
    std::printf("learned w1 %.4f w2 %.4f v1 %.4f v2 %.4f (teacher %.4f %.4f %.4f %.4f)\n",
                weights[0], weights[1], weights[2], weights[3], teacher_weights[0],
                teacher_weights[1], teacher_weights[2], teacher_weights[3]);
    std::printf("training time: %.3f s\n", seconds);
    kiln::examples::json_object()
        .numbers("train_loss", train_loss)
        .numbers("train", train_accuracy)
        .numbers("test", test_accuracy)
        .numbers("weights", weights)
        .numbers("teacher", teacher_weights)
        .number("time", seconds)
        .number("learning_rate", opt.learning_rate)
        .number("train_count", static_cast<double>(opt.train_count))
        .write(opt.out);
    std::printf("wrote %s\n", opt.out.c_str());
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    options opt;
    namespace ex = kiln::examples;
    ex::command_line cli{"The course's mini CNN (1-D convolution, relu, linear, logistic loss) "
                         "trained by SGD, one example at a time, on synthetic data labelled by a "
                         "teacher network."};
    cli.option("--train_count", opt.train_count, "training examples", ex::whole_number_at_least(1));
    cli.option("--test_count", opt.test_count, "test examples", ex::whole_number_at_least(1));
    cli.option("--num_epoch", opt.num_epoch, "epochs (each: train_count random examples)",
               ex::whole_number_at_least(1));
    cli.option("--learning_rate", opt.learning_rate, "SGD learning rate", ex::at_least(0));
    cli.option("--random_seed", opt.random_seed, "seed of the data, teacher and training",
               ex::whole_number_at_least(0));
    cli.option("--out", opt.out, "the JSON results file", ex::file_to_write());
    if (auto exit_code = cli.parse(argc, argv)) return *exit_code;
    return ex::run_reporting_errors("mini_cnn", [&] { return run(opt); });
}
