// Checkpoints: a run saved and resumed in fresh objects ends bit for bit where
// the same run uninterrupted ends; a file for another network, scalar type or
// newer format, a truncated or damaged file, and a save that fails or crashes
// half way are each refused or survived with a checkpoint_error naming the file.
#include "support/temp_dir.hpp"

#include <kiln/data/fingerprint.hpp>
#include <kiln/data/labeled_set.hpp>
#include <kiln/io/atomic_file.hpp>
#include <kiln/io/checkpoint_file.hpp>
#include <kiln/kiln.hpp>
#include <kiln/train/checkpoint.hpp>

#include <doctest/doctest.h>

#include <limits>
#include <zlib.h>

#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using kiln::testing::temp_dir;

using mlp = kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear<128>, kiln::relu,
                             kiln::linear<10>>;
using narrower = kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear<64>, kiln::relu,
                                  kiln::linear<10>>;
using tiny_for_fork = kiln::sequential<kiln::input<4>, kiln::linear<2>>;
using image = kiln::shape<28, 28>;
using image_set = kiln::data::labeled_set<image, 10>;

// Ten noisy classes around random prototypes (as in test_training.cpp).
image_set synthetic(std::size_t count, std::uint64_t seed) {
    kiln::rng random(1234);
    std::vector<float> prototypes(10 * image::size);
    for (auto& p : prototypes)
        p = static_cast<float>(random.uniform());
    kiln::rng noise(seed);
    image_set set(count);
    for (std::size_t i = 0; i < count; ++i) {
        const auto label = static_cast<kiln::label_t>(noise.below(10));
        set.mutable_labels()[i] = label;
        for (std::size_t k = 0; k < image::size; ++k)
            set.mutable_inputs().data()[i * image::size + k] =
                prototypes[label * image::size + k] + static_cast<float>(noise.normal(0, 0.5));
    }
    return set;
}

// A whole training run as examples/mlp.cpp makes one: shuffled mini-batches with
// momentum, validation after every epoch, early stopping and a copy of the best
// model. Its state is everything a checkpoint must hold to resume it.
struct training_run {
    static constexpr std::size_t batch = 5;
    const image_set& train_set;
    const image_set& validation;
    kiln::rng random;
    kiln::model<mlp> net;
    kiln::trainer<mlp> train;
    kiln::workspace<mlp, float> evaluation{400};
    kiln::early_stopping stopper{2};
    kiln::aligned_buffer<float> best;
    std::vector<std::size_t> order;
    std::uint64_t epoch = 0;         // epochs finished
    std::uint64_t step_in_epoch = 0; // steps of the current epoch done
    kiln::aligned_buffer<float> images{batch * image::size};
    std::vector<kiln::label_t> labels = std::vector<kiln::label_t>(batch);

    training_run(const image_set& t, const image_set& v, std::uint64_t seed,
                 kiln::sgd settings = {.learning_rate = 0.01, .momentum = 0.9},
                 const kiln::rate_schedule& schedule = {},
                 double max_gradient_norm = std::numeric_limits<double>::infinity())
        : train_set(t), validation(v), random(seed), net(kiln::init::normal{0, 0.1}, random),
          train(net, settings, batch), best(net.parameters().size()), order(t.size()) {
        std::iota(order.begin(), order.end(), std::size_t{0});
        train.set_schedule(schedule);
        train.set_max_gradient_norm(max_gradient_norm);
    }

    std::size_t steps_per_epoch() const { return train_set.size() / batch; }

    void advance(std::size_t steps) {
        for (std::size_t s = 0; s < steps; ++s) {
            if (step_in_epoch == 0) random.shuffle(std::span<std::size_t>(order));
            train_set.gather(
                std::span<const std::size_t>(order).subspan(step_in_epoch * batch, batch),
                kiln::batch_view<image, float>(images.data(), batch), labels.data());
            train.step(kiln::batch_view<image, const float>(images.data(), batch),
                       kiln::label_view<10>(labels.data(), batch));
            if (++step_in_epoch == steps_per_epoch()) {
                step_in_epoch = 0;
                ++epoch;
                const auto score =
                    kiln::evaluate(net, evaluation, validation.inputs(), validation.labels());
                if (stopper.record(score.accuracy))
                    std::copy(net.parameters().begin(), net.parameters().end(), best.data());
            }
        }
    }

    void save(const fs::path& path) {
        auto state = kiln::checkpoint::of<mlp, float>();
        kiln::store(state, train);
        kiln::store(state, random);
        kiln::store(state, stopper);
        state.put("best_parameters", best.span());
        state.put("order", order);
        state.put_value("epoch", epoch);
        state.put_value("step_in_epoch", step_in_epoch);
        state.save(path);
    }

    void load(const fs::path& path) {
        const auto state = kiln::checkpoint::load<mlp, float>(path);
        kiln::restore(state, train);
        kiln::restore(state, random);
        kiln::restore(state, stopper);
        state.get("best_parameters", best.span());
        state.get("order", std::span<std::size_t>(order));
        epoch = state.get_value<std::uint64_t>("epoch");
        step_in_epoch = state.get_value<std::uint64_t>("step_in_epoch");
    }
};

// Spans of the same scalars hold the same bits.
template <class A, class B>
bool same_bits(const A& a, const B& b) {
    return a.size_bytes() == b.size_bytes() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

using bytes = std::vector<std::byte>;

bytes read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> chars{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    bytes out(chars.size());
    std::memcpy(out.data(), chars.data(), chars.size());
    return out;
}

void write_file(const fs::path& path, const bytes& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(content.data()),
              static_cast<std::streamsize>(content.size()));
    REQUIRE(out.good());
}

// Rewrites the trailing CRC-32 after a deliberate change, so that the check
// under test is the one that must catch it, not the checksum.
void reseal(bytes& content) {
    const auto crc = static_cast<std::uint32_t>(crc32(
        0L, reinterpret_cast<const Bytef*>(content.data()), static_cast<uInt>(content.size() - 4)));
    for (int i = 0; i < 4; ++i)
        content[content.size() - 4 + i] = static_cast<std::byte>(crc >> (8 * i));
}

// Loading `path` must throw a checkpoint_error: one line, starting with the
// path, containing each of `parts`.
template <class Load>
std::string refused(const fs::path& path, Load&& load, std::initializer_list<std::string> parts) {
    try {
        load();
    } catch (const kiln::checkpoint_error& error) {
        const std::string message = error.what();
        CAPTURE(message);
        CHECK(message.rfind(path.string() + ": ", 0) == 0);
        CHECK(message.find('\n') == std::string::npos);
        for (const auto& part : parts)
            CHECK_MESSAGE(message.find(part) != std::string::npos, "missing: ", part);
        return message;
    }
    FAIL("accepted: ", path);
    return {};
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

kiln::model<mlp> trained_model(std::uint64_t seed) {
    const auto set = synthetic(100, seed);
    training_run run(set, set, seed);
    run.advance(7);
    return run.net;
}

// Sets a resource limit for one scope and restores it after.
struct scoped_limit {
    int resource;
    rlimit old{};
    scoped_limit(int which, rlim_t value) : resource(which) {
        getrlimit(resource, &old);
        rlimit limit = old;
        limit.rlim_cur = value;
        setrlimit(resource, &limit);
    }
    ~scoped_limit() { setrlimit(resource, &old); }
};

} // namespace

TEST_SUITE("checkpoint") {
    TEST_CASE("resuming from a checkpoint equals the uninterrupted run, bit for bit") {
        const auto train_set = synthetic(300, 11); // 60 steps per epoch
        const auto validation = synthetic(200, 12);
        const std::size_t total = 5 * 60;

        training_run uninterrupted(train_set, validation, 7);
        uninterrupted.advance(total);
        REQUIRE(uninterrupted.epoch == 5);

        temp_dir dir;
        // Mid-epoch, at an epoch's end, at the very start, and twice in one run.
        for (const std::vector<std::size_t>& stops :
             {std::vector<std::size_t>{97}, {120}, {0}, {33, 211}}) {
            CAPTURE(stops.front());
            std::size_t done = 0;
            auto first = std::make_unique<training_run>(train_set, validation, 7);
            std::unique_ptr<training_run> current = std::move(first);
            for (const std::size_t stop : stops) {
                current->advance(stop - done);
                done = stop;
                current->save(dir / "run.kiln");
                // Fresh objects, from another seed: all that matters must come from the file.
                current = std::make_unique<training_run>(train_set, validation, 1000 + stop);
                current->load(dir / "run.kiln");
            }
            current->advance(total - done);

            CHECK(current->epoch == uninterrupted.epoch);
            CHECK(same_bits(std::span<const float>(current->net.parameters()),
                            std::span<const float>(uninterrupted.net.parameters())));
            CHECK(same_bits(std::span<const float>(current->train.optimizer().velocity()),
                            std::span<const float>(uninterrupted.train.optimizer().velocity())));
            CHECK(same_bits(std::span<const float>(current->best.span()),
                            std::span<const float>(uninterrupted.best.span())));
            CHECK(current->random.state() == uninterrupted.random.state());
            CHECK(current->stopper.best_epoch() == uninterrupted.stopper.best_epoch());
            CHECK(current->stopper.best_score() == uninterrupted.stopper.best_score());
            CHECK(current->stopper.state().waited == uninterrupted.stopper.state().waited);
        }
        // The run trained and kept a best model that is not the last.
        CHECK(uninterrupted.stopper.best_score() > 0.5);
    }

    TEST_CASE("a run with a schedule, clipping or a rate set by hand resumes bit for bit") {
        const auto train_set = synthetic(300, 11); // 60 steps per epoch
        const auto validation = synthetic(200, 12);
        const std::size_t total = 3 * 60;
        const kiln::sgd settings{.learning_rate = 0.05, .momentum = 0.9};
        const kiln::rate_schedule schedule =
            kiln::warmup_cosine{.warmup_steps = 30, .total_steps = total, .floor = 1e-3};
        // A rate set by hand at step 50 (no schedule): the file keeps it.
        const auto by_hand = [](training_run& run, std::size_t steps) {
            for (std::size_t s = 0; s < steps; ++s) {
                if (run.train.steps() == 50) run.train.optimizer().set_learning_rate(0.002);
                run.advance(1);
            }
        };
        const auto scheduled = [](training_run& run, std::size_t steps) { run.advance(steps); };
        temp_dir dir;
        for (const bool hand : {false, true}) {
            CAPTURE(hand);
            const kiln::rate_schedule used = hand ? kiln::rate_schedule{} : schedule;
            const double max_norm = hand ? std::numeric_limits<double>::infinity() : 0.5;
            const auto advance = [&](training_run& run, std::size_t steps) {
                hand ? by_hand(run, steps) : scheduled(run, steps);
            };
            training_run uninterrupted(train_set, validation, 7, settings, used, max_norm);
            advance(uninterrupted, total);
            for (const std::vector<std::size_t>& stops :
                 {std::vector<std::size_t>{97}, {20, 140}}) {
                CAPTURE(stops.front());
                std::size_t done = 0;
                auto current = std::make_unique<training_run>(train_set, validation, 7, settings,
                                                              used, max_norm);
                for (const std::size_t stop : stops) {
                    advance(*current, stop - done);
                    done = stop;
                    current->save(dir / "run.kiln");
                    current = std::make_unique<training_run>(train_set, validation, 1000 + stop,
                                                             settings, used, max_norm);
                    current->load(dir / "run.kiln");
                    CHECK(current->train.steps() == stop);
                }
                advance(*current, total - done);
                CHECK(current->train.steps() == total);
                CHECK(current->train.optimizer().learning_rate() ==
                      uninterrupted.train.optimizer().learning_rate());
                CHECK(same_bits(std::span<const float>(current->net.parameters()),
                                std::span<const float>(uninterrupted.net.parameters())));
                CHECK(
                    same_bits(std::span<const float>(current->train.optimizer().velocity()),
                              std::span<const float>(uninterrupted.train.optimizer().velocity())));
            }
            // The controls were at work: the rate moved, and clipping clipped.
            CHECK(uninterrupted.train.optimizer().learning_rate() != doctest::Approx(0.05));
            if (!hand) CHECK(uninterrupted.train.last_gradient_norm() > 0.0);
        }
    }

    TEST_CASE("resuming with another schedule or clipping is refused, naming both") {
        temp_dir dir;
        const auto set = synthetic(50, 9);
        const kiln::sgd settings{.learning_rate = 0.01, .momentum = 0.9};
        const kiln::rate_schedule cosine = kiln::cosine_annealing{.steps = 100, .floor = 1e-4};
        training_run run(set, set, 9, settings, cosine, 2.0);
        run.advance(3);
        run.save(dir / "run.kiln");

        training_run other(set, set, 9, settings, kiln::step_decay{.period = 30}, 2.0);
        refused(dir / "run.kiln", [&] { other.load(dir / "run.kiln"); },
                {"schedule cosine_annealing{steps 100, floor 0.0001}",
                 "this program's is step_decay{period 30, factor 0.1}", "same schedule"});
        training_run longer(set, set, 9, settings, kiln::cosine_annealing{.steps = 200}, 2.0);
        refused(dir / "run.kiln", [&] { longer.load(dir / "run.kiln"); },
                {"cosine_annealing{steps 100", "cosine_annealing{steps 200"});
        training_run unclipped(set, set, 9, settings, cosine);
        refused(dir / "run.kiln", [&] { unclipped.load(dir / "run.kiln"); },
                {"maximum gradient norm 2", "this program's is inf", "same clipping"});

        // A file from before kiln kept the controls (model and optimizer alone):
        // no schedule, no clipping, step 0.
        {
            auto state = kiln::checkpoint::of<mlp, float>();
            kiln::store(state, run.net);
            kiln::store(state, run.train.optimizer());
            state.save(dir / "old.kiln");
        }
        const auto old = kiln::checkpoint::load<mlp, float>(dir / "old.kiln");
        refused(dir / "old.kiln", [&] { kiln::restore(old, run.train); },
                {"learning-rate schedule none, this program's is cosine_annealing"});
        training_run plain(set, set, 9, settings);
        plain.train.set_steps(17);
        kiln::restore(old, plain.train);
        CHECK(plain.train.steps() == 0);
    }

    TEST_CASE("a model saved and loaded is the same model, in float and in double") {
        temp_dir dir;
        const auto net = trained_model(3);
        kiln::save_model(dir / "model.kiln", net);
        kiln::model<mlp> loaded(kiln::init::normal{0, 0.1}, 99);
        kiln::load_model(dir / "model.kiln", loaded);
        CHECK(same_bits(loaded.parameters(), std::span<const float>(net.parameters())));

        const kiln::model<mlp, double> wide(net);
        kiln::save_model(dir / "wide.kiln", wide);
        kiln::model<mlp, double> wide_loaded(kiln::init::normal{0, 0.1}, 98);
        kiln::load_model(dir / "wide.kiln", wide_loaded);
        CHECK(same_bits(wide_loaded.parameters(), std::span<const double>(wide.parameters())));
        // No temporary file is left behind.
        CHECK(dir.files() == std::vector<std::string>{"model.kiln", "wide.kiln"});
    }

    TEST_CASE("the format is little-endian, with the header of docs/checkpoints.md") {
        temp_dir dir;
        const auto net = trained_model(4);
        kiln::save_model(dir / "m.kiln", net);
        const bytes content = read_file(dir / "m.kiln");
        auto u64 = [&](std::size_t at) {
            std::uint64_t v = 0;
            for (int i = 7; i >= 0; --i)
                v = v << 8 | std::to_integer<std::uint64_t>(content[at + i]);
            return v;
        };
        REQUIRE(content.size() > 64);
        CHECK(std::memcmp(content.data(), "KILNCKPT", 8) == 0);
        CHECK((u64(8) & 0xffffffff) == 1); // version
        CHECK(u64(16) == content.size());
        CHECK((u64(24) & 0xffffffff) == 1); // float32
        CHECK(u64(32) == mlp::param_count);
        CHECK(u64(40) == kiln::parameter_layout<mlp>::storage_size);
        const auto state = kiln::checkpoint::load(dir / "m.kiln");
        CHECK(state.signature() == "input<28, 28> (28, 28) -> flatten (784) -> linear<128> (128) "
                                   "[100480] -> relu (128) -> linear<10> (10) [1290]");
        CHECK(state.section_names() == std::vector<std::string>{"parameters", "parameters.parts"});
        CHECK(state.get_text("parameters.parts") == kiln::parameter_table<mlp>());
    }

    TEST_CASE("a checkpoint of another network, scalar type or newer format is refused") {
        temp_dir dir;
        const fs::path path = dir / "model.kiln";
        kiln::save_model(path, trained_model(5));

        kiln::model<narrower> other;
        const auto message =
            refused(path, [&] { kiln::load_model(path, other); },
                    {"another network", "linear<128> (128) [100480]", "linear<64> (64) [50240]",
                     "101770 parameters", "50890 parameters", "first difference: layer 2"});
        MESSAGE(message);

        kiln::model<mlp, double> wide;
        MESSAGE(refused(path, [&] { kiln::load_model(path, wide); },
                        {"float32", "float64", "kiln::model<Net, double>(loaded)"}));

        // The same file with version 2 (and a valid checksum).
        bytes content = read_file(path);
        content[8] = std::byte{2};
        reseal(content);
        write_file(dir / "v2.kiln", content);
        kiln::model<mlp> net;
        MESSAGE(refused(dir / "v2.kiln", [&] { kiln::load_model(dir / "v2.kiln", net); },
                        {"version 2", "newer kiln", "versions up to 1"}));

        // A PyTorch file, and a file that is no checkpoint at all.
        write_file(dir / "torch.pt", {std::byte{'P'}, std::byte{'K'}, std::byte{3}, std::byte{4}});
        refused(dir / "torch.pt", [&] { kiln::load_model(dir / "torch.pt", net); },
                {"not a kiln checkpoint", "torch_weights.py"});
        refused(dir / "missing.kiln", [&] { kiln::load_model(dir / "missing.kiln", net); },
                {"no such file"});
        refused(dir.path, [&] { kiln::load_model(dir.path, net); }, {"directory"});
    }

    TEST_CASE("a truncated or damaged checkpoint is refused, wherever the damage is") {
        temp_dir dir;
        const fs::path path = dir / "model.kiln";
        kiln::save_model(path, trained_model(6));
        const bytes good = read_file(path);
        kiln::model<mlp> net;
        const fs::path bad = dir / "bad.kiln";
        auto load_bad = [&] { kiln::load_model(bad, net); };

        for (const std::size_t length :
             {std::size_t{0}, std::size_t{3}, std::size_t{8}, std::size_t{27}, std::size_t{28},
              std::size_t{100}, good.size() / 2, good.size() - 4, good.size() - 1}) {
            CAPTURE(length);
            write_file(bad, bytes(good.begin(), good.begin() + static_cast<long>(length)));
            const auto message = refused(bad, load_bad, {});
            CHECK((contains(message, "truncated") || contains(message, "empty file") ||
                   contains(message, "not a kiln checkpoint")));
        }
        bytes longer = good;
        longer.push_back(std::byte{0});
        write_file(bad, longer);
        refused(bad, load_bad, {"corrupt", "trailing bytes"});

        // One flipped bit, in every header byte and across the data.
        std::size_t tried = 0;
        for (std::size_t at = 0; at < good.size(); at += at < 96 ? 1 : 997) {
            bytes flipped = good;
            flipped[at] ^= std::byte{1} << (at % 8);
            write_file(bad, flipped);
            CAPTURE(at);
            const auto message = refused(bad, load_bad, {});
            CHECK((contains(message, "corrupt") || contains(message, "truncated") ||
                   contains(message, "not a kiln checkpoint")));
            ++tried;
        }
        CHECK(tried > 400);
        bytes damaged_crc = good;
        damaged_crc.at(good.size() - 3) ^= std::byte{0x80}; // in the stored checksum
        write_file(bad, damaged_crc);
        refused(bad, load_bad, {"CRC-32", "damaged"});
    }

    TEST_CASE("contents that do not fit the program are refused, naming the section") {
        temp_dir dir;
        const auto set = synthetic(50, 9);
        training_run run(set, set, 9);
        run.advance(3);
        run.save(dir / "run.kiln");

        training_run faster(set, set, 9, {.learning_rate = 0.1, .momentum = 0.9});
        refused(dir / "run.kiln", [&] { faster.load(dir / "run.kiln"); },
                {"learning_rate 0.01", "learning_rate 0.1", "same settings"});

        const auto state = kiln::checkpoint::load<mlp, float>(dir / "run.kiln");
        kiln::early_stopping patient(5);
        refused(dir / "run.kiln", [&] { kiln::restore(state, patient); },
                {"patience 2", "this program's 5"});
        std::vector<float> wrong(3);
        refused(dir / "run.kiln", [&] { state.get("nothing", std::span<float>(wrong)); },
                {"no section 'nothing'", "parameters", "sgd.velocity", "rng", "order"});
        refused(dir / "run.kiln", [&] { state.get("best_parameters", std::span<float>(wrong)); },
                {"holds " + std::to_string(run.best.size()) + " values", "expects 3"});
        refused(dir / "run.kiln", [&] { (void)state.get_value<double>("epoch"); },
                {"'epoch' holds uint64", "expects float64"});
    }

    TEST_CASE("a model whose parameters are not finite is refused, naming the layer and entry") {
        temp_dir dir;
        auto net = trained_model(3);
        net.layer<4>().bias()[7] = std::numeric_limits<float>::quiet_NaN();
        kiln::save_model(dir / "diverged.kiln", net);
        kiln::model<mlp> loaded;
        refused(
            dir / "diverged.kiln", [&] { kiln::load_model(dir / "diverged.kiln", loaded); },
            {"section 'parameters' holds NaN at layer 4 (linear<10>), bias[7]", "had diverged"});
        net.layer<4>().bias()[7] = 0;
        net.layer<2>().weights()[130] = std::numeric_limits<float>::infinity();
        kiln::save_model(dir / "diverged.kiln", net);
        refused(dir / "diverged.kiln", [&] { kiln::load_model(dir / "diverged.kiln", loaded); },
                {"an infinity at layer 2 (linear<128>), weight[130]"});
        // Inside a composite, the path.
        using nested =
            kiln::sequential<kiln::input<6>, kiln::repeat<2, kiln::linear<6>, kiln::relu>>;
        kiln::model<nested> deep;
        deep.parameters()[nested::layer_t<1>::copies::body::storage_size + 2] =
            std::numeric_limits<float>::quiet_NaN();
        kiln::save_model(dir / "deep.kiln", deep);
        kiln::model<nested> deep_loaded;
        refused(dir / "deep.kiln", [&] { kiln::load_model(dir / "deep.kiln", deep_loaded); },
                {"NaN at layer 1 > copy 2 > 1 (linear<6>), weight[2]"});
    }

    TEST_CASE("an optimizer or a record whose values are not finite is refused, by name") {
        temp_dir dir;
        const auto path = dir / "state.kiln";
        const float nan = std::numeric_limits<float>::quiet_NaN();
        // SGD's velocity: it was reported, once training ran on it, as "the values
        // grew out of range (a smaller learning rate may help)".
        {
            kiln::model<mlp> net = trained_model(4);
            kiln::trainer<mlp> train(net, kiln::sgd{0.01, 0.9}, 5);
            auto state = kiln::checkpoint::of<mlp, float>();
            kiln::store(state, train);
            std::vector<float> velocity(train.optimizer().velocity().begin(),
                                        train.optimizer().velocity().end());
            velocity[17] = nan;
            state.put("sgd.velocity", velocity);
            state.save(path);
            kiln::model<mlp> other;
            kiln::trainer<mlp> resumed(other, kiln::sgd{0.01, 0.9}, 5);
            const auto message = refused(
                path, [&] { kiln::restore(kiln::checkpoint::load<mlp, float>(path), resumed); },
                {"section 'sgd.velocity' holds NaN at value 17", "cannot be resumed"});
            CHECK_FALSE(contains(message, "grew out of range"));
        }
        // AdamW's moments, and a second moment below zero (a mean of squares).
        {
            kiln::model<mlp> net = trained_model(5);
            kiln::trainer<mlp, kiln::softmax_cross_entropy, kiln::adamw> train(net, {}, 5);
            auto state = kiln::checkpoint::of<mlp, float>();
            kiln::store(state, train);
            std::vector<float> moment(train.optimizer().first_moment().size(), 0.0f);
            moment[3] = std::numeric_limits<float>::infinity();
            state.put("adamw.first_moment", moment);
            state.save(path);
            kiln::trainer<mlp, kiln::softmax_cross_entropy, kiln::adamw> resumed(net, {}, 5);
            refused(path, [&] { kiln::restore(kiln::checkpoint::load<mlp, float>(path), resumed); },
                    {"section 'adamw.first_moment' holds an infinity at value 3"});
            moment[3] = 0;
            state.put("adamw.first_moment", moment);
            moment[9] = -1;
            state.put("adamw.second_moment", moment);
            state.save(path);
            refused(path, [&] { kiln::restore(kiln::checkpoint::load<mlp, float>(path), resumed); },
                    {"section 'adamw.second_moment' holds a negative value at value 9"});
        }
        // Early stopping's best score: NaN never compares, so no epoch would ever be
        // the best again; -infinity is its value before the first epoch only.
        {
            kiln::early_stopping stopper(3);
            stopper.record(0.5);
            auto state = kiln::checkpoint::of<mlp, float>();
            kiln::store(state, stopper);
            state.put_value("early_stopping.best_score", std::numeric_limits<double>::quiet_NaN());
            state.save(path);
            kiln::early_stopping resumed(3);
            refused(path, [&] { kiln::restore(kiln::checkpoint::load(path), resumed); },
                    {"section 'early_stopping.best_score' holds nan after 1 epochs"});
            kiln::store(state, kiln::early_stopping(3)); // no epoch yet: -infinity is right
            state.save(path);
            kiln::restore(kiln::checkpoint::load(path), resumed);
            CHECK(resumed.epochs() == 0);
        }
        // Any other section a program reads: require_finite names it and the value.
        {
            auto state = kiln::checkpoint::of<mlp, float>();
            state.put("history.train_loss", std::vector<double>{0.5, 0.25, std::nan("")});
            state.save(path);
            const auto loaded = kiln::checkpoint::load(path);
            const auto history = loaded.get_all<double>("history.train_loss");
            refused(path,
                    [&] { kiln::require_finite(loaded, "history.train_loss", std::span(history)); },
                    {"section 'history.train_loss' holds NaN at value 2"});
        }
    }

    TEST_CASE("a failed save leaves the previous checkpoint as it was, and no temporary file") {
        temp_dir dir;
        const fs::path path = dir / "model.kiln";
        const auto first = trained_model(7);
        const auto second = trained_model(8);
        kiln::save_model(path, first);
        const bytes before = read_file(path);

        {
            // The file system refuses to let a file grow past 64 KiB, as a full disk would.
            std::signal(SIGXFSZ, SIG_IGN);
            scoped_limit limit(RLIMIT_FSIZE, 64 * 1024);
            refused(path, [&] { kiln::save_model(path, second); },
                    {"not saved, the file is as it was", "cannot write", "File too large"});
        }
        std::signal(SIGXFSZ, SIG_DFL);
        CHECK(read_file(path) == before);
        CHECK(dir.files() == std::vector<std::string>{"model.kiln"});

        refused(dir / "no" / "such" / "folder.kiln",
                [&] { kiln::save_model(dir / "no" / "such" / "folder.kiln", second); },
                {"not saved", "cannot create a file in"});
        kiln::model<mlp> loaded;
        kiln::load_model(path, loaded);
        CHECK(same_bits(loaded.parameters(), std::span<const float>(first.parameters())));
    }

    TEST_CASE("a crash in the middle of a save leaves the previous checkpoint readable") {
        temp_dir dir;
        const fs::path path = dir / "model.kiln";
        const auto first = trained_model(10);
        const auto second = trained_model(11);
        kiln::save_model(path, first);
        const bytes before = read_file(path);

        // A child process saves and is killed by the kernel half way through its
        // write (SIGXFSZ at 64 KiB: the file is about 400 KiB).
        const pid_t child = fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            rlimit no_core{0, 0};
            setrlimit(RLIMIT_CORE, &no_core);
            rlimit small{64 * 1024, 64 * 1024};
            setrlimit(RLIMIT_FSIZE, &small);
            std::signal(SIGXFSZ, SIG_DFL);
            try {
                kiln::save_model(path, second);
            } catch (...) {
                _exit(3);
            }
            _exit(0);
        }
        int status = 0;
        REQUIRE(waitpid(child, &status, 0) == child);
        REQUIRE(WIFSIGNALED(status));
        CHECK(WTERMSIG(status) == SIGXFSZ);

        // What the crash left: the old file, whole, and a partial temporary file.
        CHECK(read_file(path) == before);
        const auto files = dir.files();
        REQUIRE(files.size() == 2);
        CHECK(files[0].rfind(".model.kiln.tmp-", 0) == 0);
        CHECK(fs::file_size(dir / files[0]) == 64 * 1024);
        kiln::model<mlp> loaded;
        kiln::load_model(path, loaded);
        CHECK(same_bits(loaded.parameters(), std::span<const float>(first.parameters())));

        // The partial file is never read as a checkpoint...
        refused(dir / files[0], [&] { kiln::load_model(dir / files[0], loaded); }, {"truncated"});
        // ...and the next save goes through.
        kiln::save_model(path, second);
        kiln::load_model(path, loaded);
        CHECK(same_bits(loaded.parameters(), std::span<const float>(second.parameters())));
    }

    TEST_CASE("a checkpoint that is a FIFO, a device or a folder is refused before it is read") {
        temp_dir dir;
        const fs::path fifo = dir / "run.kiln";
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        kiln::model<mlp> net;
        // Opening a FIFO to read waits for a writer: without the check this hangs.
        refused(fifo, [&] { kiln::load_model(fifo, net); },
                {"is a FIFO (named pipe), not a checkpoint file"});
        refused("/dev/zero", [&] { kiln::load_model("/dev/zero", net); },
                {"is a character device, not a checkpoint file"});
        refused(dir.path, [&] { kiln::load_model(dir.path, net); },
                {"is a directory, not a checkpoint file"});
        refused(dir / "missing.kiln", [&] { kiln::load_model(dir / "missing.kiln", net); },
                {"no such file"});
    }

#ifndef KILN_SANITIZED // the sanitizers reserve terabytes of address space
    TEST_CASE("a large file is judged by its first 24 bytes before the rest is read") {
        // 1 GiB files (sparse: they take no disk) loaded by a child that may not
        // allocate 256 MiB: a loader that read the whole file would fail for memory,
        // not refuse the file.
        temp_dir dir;
        const auto sparse = [&](const std::string& name, const bytes& start) {
            const fs::path path = dir / name;
            write_file(path, start);
            fs::resize_file(path, std::uint64_t{1} << 30);
            return path;
        };
        bytes header(24);
        std::memcpy(header.data(), "KILNCKPT", 8);
        header[8] = std::byte{1};   // version 1
        header[16] = std::byte{64}; // the header says the file holds 64 bytes
        const std::pair<fs::path, std::string> cases[] = {
            {sparse("zeros.kiln", bytes(8)), "not a kiln checkpoint: it starts with"},
            {sparse("short.kiln", header), "corrupt: the file has 1073741824 bytes, its header "
                                           "says 64"}};
        for (const auto& test_case : cases) {
            const fs::path& path = test_case.first;
            const std::string& expected = test_case.second;
            CAPTURE(path);
            const pid_t child = fork();
            REQUIRE(child >= 0);
            if (child == 0) {
                rlimit memory{256u << 20, 256u << 20};
                setrlimit(RLIMIT_AS, &memory);
                try {
                    kiln::model<tiny_for_fork> net;
                    kiln::load_model(path, net);
                } catch (const kiln::checkpoint_error& error) {
                    _exit(std::string(error.what()).find(expected) != std::string::npos ? 0 : 2);
                } catch (...) {
                    _exit(3); // std::bad_alloc: it tried to read the whole file
                }
                _exit(4);
            }
            int status = 0;
            REQUIRE(waitpid(child, &status, 0) == child);
            REQUIRE(WIFEXITED(status));
            CHECK(WEXITSTATUS(status) == 0);
        }
    }
#endif

    TEST_CASE("require_writable says why a file cannot be written there, and leaves nothing") {
        temp_dir dir;
        CHECK_NOTHROW(kiln::require_writable(dir / "results.json"));
        CHECK(dir.files().empty());
        auto why = [](const fs::path& path) {
            try {
                kiln::require_writable(path);
            } catch (const std::system_error& failure) {
                return std::string(failure.what());
            }
            return std::string("accepted");
        };
        CHECK(contains(why(dir / "no" / "such.json"), "No such file or directory"));
        CHECK(contains(why(dir.path), "which names a folder"));
        CHECK(contains(why(dir / std::string(300, 'x')), "File name too long"));
        CHECK(dir.files().empty());
        if (fs::is_directory("/sys")) // no file can be made there, even by root
            CHECK(contains(why("/sys/results.json"),
                           "cannot create a file in /sys: Permission denied"));
    }

    TEST_CASE("a save replaces a symbolic link planted at its name instead of following it") {
        temp_dir dir;
        const fs::path victim = dir / "victim.kiln";
        kiln::save_model(victim, trained_model(12));
        const bytes before = read_file(victim);
        fs::create_directory(dir / "runs");
        const fs::path path = dir / "runs" / "model.kiln";
        fs::create_symlink(victim, path);
        kiln::save_model(path, trained_model(13));
        CHECK(read_file(victim) == before);
        CHECK(fs::is_regular_file(fs::symlink_status(path)));
        CHECK(dir.files() == std::vector<std::string>{"runs", "victim.kiln"});
    }

    TEST_CASE("a checkpoint records its data; resuming on other data is refused, naming both") {
        temp_dir dir;
        const auto set = synthetic(50, 9);
        const auto other = synthetic(50, 10);
        const auto fingerprint = kiln::data::fingerprint_of(set);
        CHECK(fingerprint == kiln::data::fingerprint_of(synthetic(50, 9)));
        CHECK(fingerprint.examples == 50);
        CHECK(fingerprint != kiln::data::fingerprint_of(other));
        // Labels alone differ: the labels' CRC tells.
        auto relabeled = synthetic(50, 9);
        relabeled.mutable_labels()[49] = (relabeled.labels()[49] + 1) % 10;
        CHECK(kiln::data::fingerprint_of(relabeled).inputs_crc32 == fingerprint.inputs_crc32);
        CHECK(kiln::data::fingerprint_of(relabeled).labels_crc32 != fingerprint.labels_crc32);

        training_run run(set, set, 9);
        run.advance(3);
        run.save(dir / "old.kiln"); // as a kiln before fingerprints wrote it
        auto state = kiln::checkpoint::load<mlp, float>(dir / "old.kiln");
        refused(dir / "old.kiln",
                [&] { kiln::expect_same_data(state, fingerprint, "data.train", "--force_resume"); },
                {"does not record the data its run read", "no section 'data.train'",
                 "or --force_resume to resume anyway"});
        kiln::store(state, fingerprint, "data.train");
        state.save(dir / "run.kiln");
        const auto loaded = kiln::checkpoint::load<mlp, float>(dir / "run.kiln");
        CHECK_NOTHROW(kiln::expect_same_data(loaded, fingerprint, "data.train"));
        const auto message =
            refused(dir / "run.kiln",
                    [&] {
                        kiln::expect_same_data(loaded, kiln::data::fingerprint_of(other),
                                               "data.train", "--force_resume");
                    },
                    {"the run read other data: 'data.train' was " + fingerprint.text(),
                     "here it is " + kiln::data::fingerprint_of(other).text(),
                     "or --force_resume to resume anyway"});
        CHECK(!contains(message, "anyway, or"));
        const auto small = synthetic(40, 9);
        refused(dir / "run.kiln",
                [&] {
                    kiln::expect_same_data(loaded, kiln::data::fingerprint_of(small), "data.train");
                },
                {"was 50 examples", "here it is 40 examples", "the run started with"});

        // The definition is fixed (docs/checkpoints.md): zlib's CRC-32 of the
        // little-endian bytes of the inputs (here 1.0f: 00 00 80 3f) and of the labels
        // (int32 2: 02 00 00 00).
        kiln::data::labeled_set<kiln::shape<1>, 3> one(1);
        one.mutable_inputs().data()[0] = 1.0f;
        one.mutable_labels()[0] = 2;
        const auto pinned = kiln::data::fingerprint_of(one);
        CHECK(pinned.examples == 1);
        CHECK(pinned.inputs_crc32 == 0xaca16a6au);
        CHECK(pinned.labels_crc32 == 0x8b4d1797u);
    }
}
