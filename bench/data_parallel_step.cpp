// Time per training step of the data-parallel trainer (kiln/distributed/,
// docs/distributed.md): the course's GPT (block 32, 4 heads, AdamW) and the
// 784-1000-10 MLP (SGD), at a global batch, on every process of an MPI run, or
// with --alone the single-process trainer (no MPI call at all) for the same work.
// A step's time is the slowest process's; each round times --steps steps after
// --warmup, and the output is the median and the minimum over --rounds rounds,
// as one JSON line (bench/data_parallel.py interleaves the runs and compares
// them). --bucket_kib sets the size of the gradient's buckets; --alone --update
// times the optimizer's flat update over every parameter instead of a step, and
// --alone --forward the forward pass and loss.
//
//   mpirun -np 2 build/bench/data_parallel_step --network gpt --batch 32
//   KILN_THREADS=1 build/bench/data_parallel_step --network gpt --batch 32 --alone
#include "../examples/common/gpt_network.hpp"

#include <kiln/distributed/data_parallel.hpp>
#include <kiln/kiln.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace {

// Keeps a step's loss from being optimized away.
volatile float benchmark_sink;
template <class T>
void benchmark_keep(T value) {
    benchmark_sink = static_cast<float>(value);
}

using gpt = kiln::examples::gpt<32, 4>;
using wide_mlp =
    kiln::sequential<kiln::input<784>, kiln::linear<1000>, kiln::relu, kiln::linear<10>>;

struct settings {
    std::string network = "gpt";
    std::size_t batch = 32;
    std::size_t steps = 50;
    std::size_t warmup = 10;
    std::size_t rounds = 5;
    std::size_t bucket_bytes = kiln::distributed::default_bucket_bytes;
    bool alone = false;
    bool update = false;
    bool forward = false;
};

[[noreturn]] void usage(const char* problem) {
    std::fprintf(stderr,
                 "data_parallel_step: %s\nusage: data_parallel_step [--network gpt|mlp] "
                 "[--batch N] [--steps N] [--warmup N] [--rounds N] [--bucket_kib N] [--alone "
                 "[--update | --forward]]\n",
                 problem);
    std::exit(2);
}

settings parse(int argc, char** argv) {
    settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--alone" || flag == "--update" || flag == "--forward") {
            (flag == "--alone" ? s.alone : flag == "--update" ? s.update : s.forward) = true;
            continue;
        }
        if (i + 1 >= argc) usage(("a value must follow " + flag).c_str());
        const std::string value = argv[++i];
        auto number = [&] {
            char* end = nullptr;
            const unsigned long long n = std::strtoull(value.c_str(), &end, 10);
            if (end == value.c_str() || *end != '\0' || n == 0)
                usage((flag + " takes a whole number above 0, not " + value).c_str());
            return static_cast<std::size_t>(n);
        };
        if (flag == "--network") {
            if (value != "gpt" && value != "mlp") usage("--network is gpt or mlp");
            s.network = value;
        } else if (flag == "--batch") {
            s.batch = number();
        } else if (flag == "--steps") {
            s.steps = number();
        } else if (flag == "--warmup") {
            s.warmup = number();
        } else if (flag == "--rounds") {
            s.rounds = number();
        } else if (flag == "--bucket_kib") {
            s.bucket_bytes = number() * 1024;
        } else {
            usage(("unknown flag " + flag).c_str());
        }
    }
    return s;
}

template <class Step>
std::vector<double> time_rounds(const settings& s, Step&& step,
                                kiln::distributed::communicator* comm) {
    std::vector<double> per_step;
    for (std::size_t round = 0; round < s.rounds; ++round) {
        for (std::size_t i = 0; i < s.warmup; ++i)
            step();
        if (comm) comm->barrier();
        const auto start = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < s.steps; ++i)
            step();
        double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (comm) seconds = comm->max(seconds);
        per_step.push_back(seconds / static_cast<double>(s.steps));
    }
    return per_step;
}

template <class Net, class Loss, class Optimizer>
int run(const settings& s, const Optimizer& optimizer, kiln::distributed::communicator* comm) {
    constexpr bool tokens = std::is_same_v<Net, gpt>;
    constexpr std::size_t per_example = Net::input_shape::size;
    constexpr std::size_t labels = tokens ? 32 : 1;
    constexpr std::size_t classes = tokens ? kiln::examples::gpt_vocabulary : 10;
    std::vector<float> x(s.batch * per_example);
    std::vector<kiln::label_t> y(s.batch * labels);
    kiln::rng random(1);
    for (auto& label : y)
        label = static_cast<kiln::label_t>(random.below(classes));
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = tokens ? static_cast<float>(random.below(classes))
                      : static_cast<float>(random.uniform());
    const kiln::batch_view<typename Net::input_shape, const float> xs(x.data(), s.batch);
    const auto ys = [&] {
        if constexpr (tokens)
            return kiln::label_view<classes, labels>(y.data(), s.batch, kiln::labels_checked);
        else
            return kiln::label_view<classes>(y.data(), s.batch, kiln::labels_checked);
    }();

    kiln::model<Net> net(kiln::init::pytorch_default{}, 1337);
    std::vector<double> per_step;
    if (comm == nullptr) {
        kiln::trainer<Net, Loss, Optimizer> train(net, optimizer, s.batch);
        if (s.update) { // the optimizer's flat update over every parameter, alone
            train.compute_gradients(xs, ys);
            per_step = time_rounds(
                s,
                [&] {
                    train.optimizer().update(net.parameters(), net.gradients());
                    benchmark_keep(net.parameters()[0]);
                },
                nullptr);
        } else if (s.forward) { // forward and the loss, in evaluation
            per_step = time_rounds(
                s, [&] { benchmark_keep(train.loss(xs, ys)); }, nullptr);
        } else {
            per_step = time_rounds(
                s, [&] { benchmark_keep(train.step(xs, ys)); }, nullptr);
        }
    } else {
        kiln::distributed::data_parallel_trainer<Net, Loss, Optimizer> train(
            *comm, net, optimizer, s.batch, kiln::default_thread_pool(), s.bucket_bytes);
        per_step = time_rounds(
            s, [&] { benchmark_keep(train.step(xs, ys)); }, comm);
    }
    if (comm == nullptr || comm->is_root()) {
        std::vector<double> sorted = per_step;
        std::sort(sorted.begin(), sorted.end());
        const char* threads = std::getenv("KILN_THREADS");
        const char* timed = s.update ? "update" : s.forward ? "forward" : "step";
        std::printf("{\"network\": \"%s\", \"batch\": %zu, \"processes\": %zu, \"alone\": %s, "
                    "\"timed\": \"%s\", \"threads_per_process\": %s, \"bucket_bytes\": %zu, "
                    "\"parameters\": %zu, \"median_seconds\": %.9g, \"min_seconds\": %.9g, "
                    "\"rounds\": [",
                    s.network.c_str(), s.batch, comm ? comm->size() : std::size_t{1},
                    s.alone ? "true" : "false", timed, threads ? threads : "null", s.bucket_bytes,
                    Net::param_count, sorted[sorted.size() / 2], sorted.front());
        for (std::size_t i = 0; i < per_step.size(); ++i)
            std::printf("%s%.9g", i ? ", " : "", per_step[i]);
        std::printf("]}\n");
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const settings s = parse(argc, argv);
    std::optional<kiln::distributed::session> session;
    std::optional<kiln::distributed::communicator> comm;
    if ((s.update || s.forward) && !s.alone) usage("--update and --forward go with --alone");
    if (!s.alone) {
        session.emplace(argc, argv);
        comm.emplace();
    }
    kiln::distributed::communicator* processes = comm ? &*comm : nullptr;
    try {
        if (s.network == "gpt")
            return run<gpt, kiln::sequence_cross_entropy, kiln::adamw>(s, kiln::adamw{}, processes);
        return run<wide_mlp, kiln::softmax_cross_entropy, kiln::sgd>(s, kiln::sgd{0.01}, processes);
    } catch (const std::exception& failure) {
        std::fprintf(stderr, "data_parallel_step: error: %s\n", failure.what());
        if (processes && processes->size() > 1) kiln::distributed::end_every_process(1);
        return 1;
    }
}
