// The time of MPI_Allreduce (in place, float, sum, MPI_COMM_WORLD) from 4 bytes to
// 16 MiB and at the three flat gradient buffers of the course's networks, and of the
// same buffers reduced in buckets by MPI_Iallreduce and one MPI_Waitall, as the
// data-parallel trainer issues them. bench/scaling_model.py fits an alpha-beta model to
// the JSON this writes (docs/distributed.md).
//
//   mpirun -np 2 build/bench/allreduce --out allreduce.json [--rounds 200] [--warmup 20]
//
// A sample is one or more back-to-back calls between a barrier and the clock; its time
// is the slowest rank's, since a collective ends for everyone when the last rank leaves
// it. Sizes are visited in a new random order each round (the same order on every rank)
// so that a slow spell of the machine spreads over all of them.
// The C API only: Open MPI's and MPICH's deprecated C++ bindings warn under -Wextra.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

struct options {
    std::string out;
    int rounds = 200;
    int warmup = 20;
    std::size_t max_bytes = std::size_t{16} << 20;
};

struct flat_buffer {
    const char* name;
    std::size_t floats;
};

// Parameter counts of the flat gradient buffers (examples/common/gpt_network.hpp at
// block 32 and 4 heads; bench/mlp_step.cpp's two MLPs).
constexpr flat_buffer flat_buffers[] = {
    {"gpt_block32_heads4", 209'729},
    {"mlp_784_128_10", 101'770},
    {"mlp_784_1000_10", 795'010},
};

constexpr std::size_t bucket_bytes[] = {std::size_t{64} << 10, std::size_t{256} << 10,
                                        std::size_t{1} << 20};

struct size_case {
    std::size_t floats;
    std::string label;
    int calls = 1; // per sample: small messages are timed over several calls
    std::vector<double> local;
};

struct bucket_case {
    std::string label;
    std::size_t floats;
    std::size_t bucket_floats;
    std::vector<double> local;
};

bool parse(int argc, char** argv, options& opt, int rank) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--out" && has_value) {
            opt.out = argv[++i];
        } else if (arg == "--rounds" && has_value) {
            opt.rounds = std::atoi(argv[++i]);
        } else if (arg == "--warmup" && has_value) {
            opt.warmup = std::atoi(argv[++i]);
        } else if (arg == "--max-bytes" && has_value) {
            opt.max_bytes = std::strtoull(argv[++i], nullptr, 10);
        } else {
            if (rank == 0)
                std::fprintf(stderr,
                             "usage: %s [--out FILE.json] [--rounds N] [--warmup N] "
                             "[--max-bytes B]\n",
                             argv[0]);
            return false;
        }
    }
    if (opt.rounds < 1 || opt.warmup < 0 || opt.max_bytes < 4) {
        if (rank == 0) std::fprintf(stderr, "--rounds >= 1, --warmup >= 0, --max-bytes >= 4\n");
        return false;
    }
    return true;
}

// Rewritten before every sample, outside the clock: the reduction reads values a
// backward pass has just written, and sums never grow to infinity.
void refill(std::vector<float>& buffer, std::size_t floats) {
    std::fill_n(buffer.begin(), floats, 0.5f);
}

double time_allreduce(std::vector<float>& buffer, const size_case& c) {
    refill(buffer, c.floats);
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    for (int k = 0; k < c.calls; ++k)
        MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(c.floats), MPI_FLOAT, MPI_SUM,
                      MPI_COMM_WORLD);
    return (MPI_Wtime() - start) / c.calls;
}

double time_buckets(std::vector<float>& buffer, std::vector<MPI_Request>& requests,
                    const bucket_case& c) {
    refill(buffer, c.floats);
    requests.clear();
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    for (std::size_t first = 0; first < c.floats; first += c.bucket_floats) {
        const std::size_t count = std::min(c.bucket_floats, c.floats - first);
        requests.emplace_back();
        MPI_Iallreduce(MPI_IN_PLACE, buffer.data() + first, static_cast<int>(count), MPI_FLOAT,
                       MPI_SUM, MPI_COMM_WORLD, &requests.back());
    }
    MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
    return MPI_Wtime() - start;
}

// The reduction's arithmetic on one rank (dst += src over n floats), the gamma term of
// the model, timed on every rank at once as during an allreduce.
double time_local_sum(std::vector<float>& dst, const std::vector<float>& src, std::size_t n) {
    refill(dst, n);
    const double start = MPI_Wtime();
    for (std::size_t i = 0; i < n; ++i)
        dst[i] += src[i];
    const double seconds = MPI_Wtime() - start;
    // Keep the loop: its result is read.
    volatile float sink = dst[n / 2];
    (void)sink;
    return seconds;
}

std::vector<double> max_over_ranks(const std::vector<double>& local) {
    std::vector<double> result(local.size());
    MPI_Allreduce(local.data(), result.data(), static_cast<int>(local.size()), MPI_DOUBLE, MPI_MAX,
                  MPI_COMM_WORLD);
    return result;
}

struct summary {
    double median = 0, min = 0, p90 = 0;
};

summary summarize(std::vector<double> samples) {
    std::sort(samples.begin(), samples.end());
    const std::size_t n = samples.size();
    summary s;
    s.min = samples.front();
    s.median = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
    s.p90 = samples[std::min(n - 1, (n * 9) / 10)];
    return s;
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out + "\"";
}

} // namespace

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, ranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    options opt;
    if (!parse(argc, argv, opt, rank)) {
        MPI_Finalize();
        return 2;
    }
    const std::string load_before = load_average();

    std::vector<size_case> sizes;
    for (std::size_t bytes = 4; bytes <= opt.max_bytes; bytes *= 2)
        sizes.push_back({bytes / 4, "", 1, {}});
    for (const auto& b : flat_buffers)
        sizes.push_back({b.floats, b.name, 1, {}});
    std::sort(sizes.begin(), sizes.end(),
              [](const size_case& a, const size_case& b) { return a.floats < b.floats; });
    // About 64 KiB moved per sample at least, so a call of a few microseconds is not
    // lost in the barrier's skew and the clock's resolution.
    for (auto& c : sizes)
        c.calls = static_cast<int>(std::clamp<std::size_t>((64u << 10) / (4 * c.floats), 1, 64));

    std::vector<bucket_case> buckets;
    for (const auto& b : flat_buffers)
        for (const std::size_t bytes : bucket_bytes)
            buckets.push_back({b.name, b.floats, bytes / 4, {}});

    std::size_t largest = 0;
    for (const auto& c : sizes)
        largest = std::max(largest, c.floats);
    std::vector<float> buffer(largest), source(largest, 0.25f);
    std::vector<MPI_Request> requests;

    // One round: every allreduce size, every bucketed buffer and every local sum once,
    // in an order drawn from a seed every rank shares.
    const std::size_t sum_cases = std::size(flat_buffers);
    const std::size_t cases = sizes.size() + buckets.size() + sum_cases;
    std::vector<std::vector<double>> local_sum(sum_cases);
    std::vector<std::size_t> order(cases);
    for (std::size_t i = 0; i < cases; ++i)
        order[i] = i;
    std::mt19937_64 shuffle_rng(20240518);
    const auto run_round = [&](bool record) {
        for (std::size_t i = cases - 1; i > 0; --i)
            std::swap(order[i], order[shuffle_rng() % (i + 1)]);
        for (const std::size_t i : order) {
            if (i < sizes.size()) {
                const double t = time_allreduce(buffer, sizes[i]);
                if (record) sizes[i].local.push_back(t);
            } else if (i < sizes.size() + buckets.size()) {
                auto& c = buckets[i - sizes.size()];
                const double t = time_buckets(buffer, requests, c);
                if (record) c.local.push_back(t);
            } else {
                const std::size_t j = i - sizes.size() - buckets.size();
                MPI_Barrier(MPI_COMM_WORLD);
                const double t = time_local_sum(buffer, source, flat_buffers[j].floats);
                if (record) local_sum[j].push_back(t);
            }
        }
    };
    for (int r = 0; r < opt.warmup; ++r)
        run_round(false);
    for (int r = 0; r < opt.rounds; ++r)
        run_round(true);
    const std::string load_after = load_average();

    std::vector<summary> size_stats, bucket_stats, sum_stats;
    for (const auto& c : sizes)
        size_stats.push_back(summarize(max_over_ranks(c.local)));
    for (const auto& c : buckets)
        bucket_stats.push_back(summarize(max_over_ranks(c.local)));
    for (const auto& samples : local_sum)
        sum_stats.push_back(summarize(max_over_ranks(samples)));

    char host[MPI_MAX_PROCESSOR_NAME] = {};
    int host_length = 0;
    MPI_Get_processor_name(host, &host_length);
    std::vector<char> hosts(static_cast<std::size_t>(ranks) * MPI_MAX_PROCESSOR_NAME);
    MPI_Gather(host, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, hosts.data(), MPI_MAX_PROCESSOR_NAME,
               MPI_CHAR, 0, MPI_COMM_WORLD);
    char library[MPI_MAX_LIBRARY_VERSION_STRING] = {};
    int library_length = 0;
    MPI_Get_library_version(library, &library_length);
    std::string library_line(library, static_cast<std::size_t>(library_length));
    library_line = library_line.substr(0, library_line.find_first_of("\n,"));

    if (rank == 0) {
        std::printf("MPI_Allreduce, in place, float sum: %d ranks, %d rounds (+%d warm-up), "
                    "slowest rank's time per call\n",
                    ranks, opt.rounds, opt.warmup);
        std::printf("load average before %s, after %s\n", load_before.c_str(), load_after.c_str());
        std::printf("%12s %10s %7s %12s %12s %12s %9s  %s\n", "bytes", "floats", "calls",
                    "median us", "min us", "p90 us", "GB/s", "buffer");
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            const auto& s = size_stats[i];
            const double bytes = 4.0 * static_cast<double>(sizes[i].floats);
            std::printf("%12.0f %10zu %7d %12.2f %12.2f %12.2f %9.3f  %s\n", bytes, sizes[i].floats,
                        sizes[i].calls, s.median * 1e6, s.min * 1e6, s.p90 * 1e6,
                        bytes / s.median * 1e-9, sizes[i].label.c_str());
        }
        std::printf("\nMPI_Iallreduce in buckets, then MPI_Waitall (no compute in between)\n");
        std::printf("%-20s %10s %12s %8s %12s %12s\n", "buffer", "floats", "bucket bytes",
                    "buckets", "median us", "min us");
        for (std::size_t i = 0; i < buckets.size(); ++i) {
            const auto& c = buckets[i];
            const std::size_t count = (c.floats + c.bucket_floats - 1) / c.bucket_floats;
            std::printf("%-20s %10zu %12zu %8zu %12.2f %12.2f\n", c.label.c_str(), c.floats,
                        4 * c.bucket_floats, count, bucket_stats[i].median * 1e6,
                        bucket_stats[i].min * 1e6);
        }
        std::printf("\nLocal sum dst += src on every rank at once (the reduction's arithmetic)\n");
        for (std::size_t j = 0; j < sum_cases; ++j)
            std::printf("%-20s %10zu floats %12.2f us median %12.2f us min\n", flat_buffers[j].name,
                        flat_buffers[j].floats, sum_stats[j].median * 1e6, sum_stats[j].min * 1e6);

        if (!opt.out.empty()) {
            std::FILE* out = std::fopen(opt.out.c_str(), "w");
            if (!out) {
                std::fprintf(stderr, "cannot write %s\n", opt.out.c_str());
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
            std::fprintf(out, "{\n  \"program\": \"bench/allreduce\",\n  \"ranks\": %d,\n", ranks);
            std::fprintf(out, "  \"mpi_library\": %s,\n", json_string(library_line).c_str());
            std::fprintf(out, "  \"hosts\": [");
            for (int r = 0; r < ranks; ++r)
                std::fprintf(
                    out, "%s%s", r ? ", " : "",
                    json_string(&hosts[static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME])
                        .c_str());
            std::fprintf(out, "],\n  \"rounds\": %d,\n  \"warmup\": %d,\n", opt.rounds, opt.warmup);
            std::fprintf(out, "  \"load_average_before\": \"%s\",\n", load_before.c_str());
            std::fprintf(out, "  \"load_average_after\": \"%s\",\n", load_after.c_str());
            std::fprintf(out, "  \"time\": \"slowest rank's seconds per call; median, min and "
                              "90th percentile over rounds\",\n");
            std::fprintf(out, "  \"allreduce\": [\n");
            for (std::size_t i = 0; i < sizes.size(); ++i) {
                const auto& s = size_stats[i];
                std::fprintf(out,
                             "    {\"floats\": %zu, \"bytes\": %zu, \"buffer\": %s, "
                             "\"calls_per_sample\": %d, \"median_s\": %.9g, \"min_s\": %.9g, "
                             "\"p90_s\": %.9g}%s\n",
                             sizes[i].floats, 4 * sizes[i].floats,
                             json_string(sizes[i].label).c_str(), sizes[i].calls, s.median, s.min,
                             s.p90, i + 1 < sizes.size() ? "," : "");
            }
            std::fprintf(out, "  ],\n  \"iallreduce_buckets\": [\n");
            for (std::size_t i = 0; i < buckets.size(); ++i) {
                const auto& c = buckets[i];
                const std::size_t count = (c.floats + c.bucket_floats - 1) / c.bucket_floats;
                std::fprintf(out,
                             "    {\"buffer\": %s, \"floats\": %zu, \"bucket_bytes\": %zu, "
                             "\"buckets\": %zu, \"median_s\": %.9g, \"min_s\": %.9g, "
                             "\"p90_s\": %.9g}%s\n",
                             json_string(c.label).c_str(), c.floats, 4 * c.bucket_floats, count,
                             bucket_stats[i].median, bucket_stats[i].min, bucket_stats[i].p90,
                             i + 1 < buckets.size() ? "," : "");
            }
            std::fprintf(out, "  ],\n  \"local_sum\": [\n");
            for (std::size_t j = 0; j < sum_cases; ++j)
                std::fprintf(out,
                             "    {\"buffer\": %s, \"floats\": %zu, \"median_s\": %.9g, "
                             "\"min_s\": %.9g}%s\n",
                             json_string(flat_buffers[j].name).c_str(), flat_buffers[j].floats,
                             sum_stats[j].median, sum_stats[j].min, j + 1 < sum_cases ? "," : "");
            std::fprintf(out, "  ]\n}\n");
            std::fclose(out);
        }
    }
    MPI_Finalize();
    return 0;
}
