// Where the time of a training step goes, pass by pass, on every thread: runs
// steps of the 784-1000-10 or 784-128-10 MLP, or of examples/fashion_cnn's
// network, with the thread pool's trace on (core/pass_trace.hpp) and prints, for
// each pass of a step (median over the steps), how long it took, how late each
// thread started its part after the pass began, how long each part ran, how long
// the caller waited for the others, and the layer and phase the pass belongs to.
//
//     KILN_THREADS=2 build/bench/pass_trace --hidden 1000 --batch 5000
//     KILN_THREADS=2 build/bench/pass_trace --network fashion_cnn --batch 32
#define KILN_TRACE_PASSES
#include "../examples/common/fashion_cnn_network.hpp"

#include <kiln/kiln.hpp>

#include <CLI/CLI.hpp>

#include "random_batch.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace {

template <std::size_t Hidden>
using mlp = kiln::sequential<kiln::input<784>, kiln::linear<Hidden>, kiln::relu, kiln::linear<10>>;

template <class Network, class Optimizer>
void run_steps(std::size_t batch, std::size_t steps, Optimizer optimizer) {
    using image = typename Network::input_shape;
    const random_batch data(batch, image::size);
    kiln::model<Network> net(kiln::init::normal{0, 0.1}, 42);
    kiln::trainer<Network, kiln::softmax_cross_entropy, Optimizer> train(net, optimizer, batch);
    const kiln::batch_view<image, const float> x(data.images.data(), batch);
    const kiln::label_view<10> y(data.labels.data(), batch);
    for (int warm_up = 0; warm_up < 3; ++warm_up)
        train.step(x, y);
    kiln::pass_trace::clear();
    for (std::size_t step = 0; step < steps; ++step)
        train.step(x, y);
}

// The layer and phase of a pass, read from its callable's mangled type (g++'s
// demangler does not take class-type template arguments such as kiln::padding):
// split_between_cores::run<Layer::bind<In, Position, ...>, T, Kind, ...> names
// the layer's position, and the runner's function that issued the pass (forward,
// backward, ...) comes last; "#n" counts the passes one function issued.
std::string pass_name(const char* mangled, const std::map<std::size_t, std::string>& layers) {
    if (mangled == nullptr) return "?";
    static const std::regex position(
        R"(3runIN\w*?4bindI(?:NS_5shapeIJ(?:Lm\d+E)+EEE|S\w*?_)Lm(\d+)E)");
    static const std::regex function(R"((\d+)((?:forward|backward|update)\w*?)I)");
    static const std::regex lambda(R"(UlNS_10work_shareEE(\d*)_)");
    const std::string text = mangled;
    std::string name;
    std::smatch found;
    if (std::regex_search(text, found, position)) {
        const std::size_t at = std::stoul(found[1]);
        name = layers.contains(at) ? layers.at(at) : "layer " + found[1].str();
    }
    std::string last_function;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), function);
         it != std::sregex_iterator(); ++it)
        if (std::stoul((*it)[1]) == static_cast<std::size_t>((*it)[2].length()))
            last_function = (*it)[2];
    name += " " + last_function;
    std::string last_lambda;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), lambda);
         it != std::sregex_iterator(); ++it)
        last_lambda = (*it)[1];
    if (!last_lambda.empty()) name += " #" + std::to_string(std::stoul(last_lambda) + 1);
    return name;
}

// Each layer's name by its position in the network.
template <class Network>
std::map<std::size_t, std::string> layer_names() {
    std::map<std::size_t, std::string> names;
    kiln::for_each_type<typename Network::layers>([&](auto layer) {
        using bound = typename decltype(layer)::type;
        names[bound::position] = std::to_string(bound::position) + " " + bound::spec::name();
    });
    return names;
}

double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app("Trace the thread pool's passes during training steps of an MLP");
    std::size_t hidden = 1000, batch = 5000, steps = 50;
    std::string network = "mlp";
    app.add_option("--network", network, "mlp or fashion_cnn")
        ->check(CLI::IsMember({"mlp", "fashion_cnn"}));
    app.add_option("--hidden", hidden, "the MLP's hidden width: 1000 or 128")
        ->check(CLI::IsMember({128, 1000}));
    app.add_option("--batch", batch, "examples per step")->check(CLI::Range(1, 100000));
    app.add_option("--steps", steps, "traced steps")->check(CLI::Range(1, 1000));
    CLI11_PARSE(app, argc, argv);
    std::map<std::size_t, std::string> layers;
    if (network == "fashion_cnn") {
        using fashion_cnn = kiln::examples::fashion_cnn::network;
        run_steps<fashion_cnn>(batch, steps, kiln::adamw{});
        layers = layer_names<fashion_cnn>();
    } else if (hidden == 1000) {
        run_steps<mlp<1000>>(batch, steps, kiln::sgd{.learning_rate = 0.01});
        layers = layer_names<mlp<1000>>();
    } else {
        run_steps<mlp<128>>(batch, steps, kiln::sgd{.learning_rate = 0.01});
        layers = layer_names<mlp<128>>();
    }

    // Group the events by pass, then the passes by their position in the step.
    const auto& log = kiln::pass_trace::the_log();
    const std::size_t count = std::min(log.count.load(), kiln::pass_trace::log::capacity);
    std::map<std::uint32_t, std::vector<kiln::pass_trace::event>> passes;
    for (std::size_t i = 0; i < count; ++i)
        passes[log.events[i].pass].push_back(log.events[i]);
    const std::size_t per_step = passes.size() / steps;
    if (per_step == 0 || passes.size() % steps != 0) {
        std::fprintf(stderr, "pass_trace: %zu passes in %zu steps: the trace is incomplete\n",
                     passes.size(), steps);
        return 1;
    }
    struct position {
        std::size_t parts = 0;
        std::vector<double> length, gap_before, caller_wait;
        std::map<std::size_t, std::vector<double>> start_delay, work; // by thread
        std::map<std::size_t, std::size_t> parts_run;                 // by thread
        const char* name = nullptr;
    };
    std::vector<position> positions(per_step);
    double previous_end = 0;
    std::vector<double> step_lengths;
    double step_begin = 0;
    for (const auto& [pass, events] : passes) {
        position& at = positions[pass % per_step];
        double begin = 0, end = 0, caller_end = 0;
        std::map<std::size_t, double> part_begin;
        for (const auto& e : events) {
            const double t = static_cast<double>(e.nanoseconds) / 1000.0;
            switch (e.what) {
            case kiln::pass_trace::kind::pass_begin:
                begin = t;
                at.parts = e.part;
                at.name = e.name;
                break;
            case kiln::pass_trace::kind::part_begin:
                part_begin[e.part] = t;
                at.start_delay[e.thread].push_back(t - begin);
                ++at.parts_run[e.thread];
                break;
            case kiln::pass_trace::kind::part_end:
                at.work[e.thread].push_back(t - part_begin[e.part]);
                if (e.thread == 0) caller_end = t;
                break;
            case kiln::pass_trace::kind::pass_end:
                end = t;
                break;
            }
        }
        at.length.push_back(end - begin);
        at.caller_wait.push_back(end - caller_end);
        if (pass % per_step == 0) {
            if (pass != 0) step_lengths.push_back(begin - step_begin);
            step_begin = begin;
        } else {
            at.gap_before.push_back(begin - previous_end);
        }
        previous_end = end;
    }
    const std::string which = network == "mlp" ? "784-" + std::to_string(hidden) + "-10" : network;
    std::printf("%zu steps of %s at batch %zu, %zu passes a step; median us over steps\n", steps,
                which.c_str(), batch, per_step);
    std::printf("step (begin to begin): %.1f us\n", median(step_lengths));
    std::printf("%4s %5s %9s %9s %9s  per thread: parts run, start delay, work\n", "pass", "parts",
                "gap", "length", "wait");
    for (std::size_t p = 0; p < per_step; ++p) {
        const position& at = positions[p];
        std::printf("%4zu %5zu %9.1f %9.1f %9.1f ", p, at.parts, median(at.gap_before),
                    median(at.length), median(at.caller_wait));
        for (const auto& [thread, delays] : at.start_delay)
            std::printf("  [%zu] %zu x %.1f %.1f", thread, at.parts_run.at(thread), median(delays),
                        median(at.work.at(thread)));
        std::printf("  %s\n", pass_name(at.name, layers).c_str());
    }
}
