// Where the time of a training step goes, pass by pass, on every thread: runs
// steps of the 784-1000-10 or 784-128-10 MLP with the thread pool's trace on
// (core/pass_trace.hpp) and prints, for each pass of a step (median over the
// steps), how long it took, how late each thread started its part after the pass
// began, how long each part ran, and how long the caller waited for the others.
//
//     KILN_THREADS=2 build/bench/pass_trace --hidden 1000 --batch 5000
#define KILN_TRACE_PASSES
#include <kiln/kiln.hpp>

#include <CLI/CLI.hpp>

#include "random_batch.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <vector>

namespace {

template <std::size_t Hidden>
using mlp = kiln::sequential<kiln::input<784>, kiln::linear<Hidden>, kiln::relu, kiln::linear<10>>;

template <std::size_t Hidden>
void run_steps(std::size_t batch, std::size_t steps) {
    using net_type = mlp<Hidden>;
    const random_batch data(batch, 784);
    kiln::model<net_type> net(kiln::init::normal{0, 0.1}, 42);
    kiln::trainer<net_type> train(net, kiln::sgd{.learning_rate = 0.01}, batch);
    const kiln::batch_view<kiln::shape<784>, const float> x(data.images.data(), batch);
    const kiln::label_view<10> y(data.labels.data(), batch);
    for (int warm_up = 0; warm_up < 3; ++warm_up)
        train.step(x, y);
    kiln::pass_trace::clear();
    for (std::size_t step = 0; step < steps; ++step)
        train.step(x, y);
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
    app.add_option("--hidden", hidden, "hidden width: 1000 or 128")
        ->check(CLI::IsMember({128, 1000}));
    app.add_option("--batch", batch, "examples per step")->check(CLI::Range(1, 100000));
    app.add_option("--steps", steps, "traced steps")->check(CLI::Range(1, 1000));
    CLI11_PARSE(app, argc, argv);
    if (hidden == 1000)
        run_steps<1000>(batch, steps);
    else
        run_steps<128>(batch, steps);

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
    std::printf("%zu steps of 784-%zu-10 at batch %zu, %zu passes a step; median us over steps\n",
                steps, hidden, batch, per_step);
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
        std::printf("\n");
    }
}
