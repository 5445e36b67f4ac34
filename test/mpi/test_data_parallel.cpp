// The data-parallel trainer and the shared evaluations (kiln/distributed/), run
// under mpirun with 1, 2 and 3 processes (3 gives uneven shares). Every process
// runs every case; each case compares with a trainer that takes the whole
// mini-batch in this process, on the same data.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <kiln/distributed/data_parallel.hpp>
#include <kiln/distributed/evaluate.hpp>
#include <kiln/kiln.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace {

namespace dist = kiln::distributed;

// A network whose update is fused into backward when it trains alone.
using mlp = kiln::sequential<kiln::input<24>, kiln::linear<32>, kiln::relu, kiln::linear<7>>;
// A small transformer with dropout: its trainer splits the mini-batch between cores,
// and its masks follow each example's place in the mini-batch.
constexpr std::size_t block = 8, vocabulary = 11;
using gpt = kiln::sequential<
    kiln::tokens<block, vocabulary>, kiln::embedding<vocabulary, 16>, kiln::add_position<block>,
    kiln::repeat<2, kiln::residual<kiln::layer_norm, kiln::causal_self_attention<2>>,
                 kiln::residual<kiln::layer_norm, kiln::linear<32>, kiln::relu, kiln::dropout<0.2>,
                                kiln::linear<16>>>,
    kiln::layer_norm, kiln::linear<vocabulary>>;

dist::communicator* world = nullptr;

// Mini-batches of random examples, the same on every process.
template <class Net>
struct batches {
    static constexpr bool tokens = std::is_same_v<Net, gpt>;
    static constexpr std::size_t inputs = Net::input_shape::size;
    static constexpr std::size_t labels = tokens ? block : 1;
    static constexpr std::size_t classes = tokens ? vocabulary : 7;
    std::size_t batch;
    std::vector<float> x;
    std::vector<kiln::label_t> y;

    batches(std::size_t batch, std::size_t steps, std::uint64_t seed)
        : batch(batch), x(steps * batch * inputs), y(steps * batch * labels) {
        kiln::rng random(seed);
        for (auto& v : x)
            v = tokens ? static_cast<float>(random.next() % vocabulary)
                       : static_cast<float>(random.uniform(-1, 1));
        for (auto& v : y)
            v = static_cast<kiln::label_t>(random.next() % classes);
    }
    auto inputs_of(std::size_t step) const {
        return kiln::batch_view<typename Net::input_shape, const float>(
            x.data() + step * batch * inputs, batch);
    }
    auto labels_of(std::size_t step) const {
        if constexpr (tokens)
            return kiln::label_view<vocabulary, block>(y.data() + step * batch * labels, batch);
        else
            return kiln::label_view<7>(y.data() + step * batch, batch);
    }
};

// A run: the losses of every step and the parameters at the end.
struct run {
    std::vector<float> losses;
    std::vector<float> parameters;
};

template <class Net>
using loss_of = std::conditional_t<std::is_same_v<Net, gpt>, kiln::sequence_cross_entropy,
                                   kiln::softmax_cross_entropy>;

template <class Net, class Optimizer>
run train_alone(const batches<Net>& data, std::size_t steps, const Optimizer& settings,
                kiln::thread_pool& pool) {
    kiln::model<Net> net(kiln::init::pytorch_default{}, 5);
    kiln::trainer<Net, loss_of<Net>, Optimizer> train(net, settings, data.batch, pool);
    if constexpr (std::is_same_v<Optimizer, kiln::adamw>) {
        train.set_schedule(kiln::warmup_cosine{.warmup_steps = 2, .total_steps = 12});
        train.set_max_gradient_norm(0.5);
        train.set_seed(99);
    }
    run result;
    for (std::size_t step = 0; step < steps; ++step)
        result.losses.push_back(train.step(data.inputs_of(step), data.labels_of(step)));
    result.parameters.assign(net.parameters().begin(), net.parameters().end());
    return result;
}

// The same run shared between the processes of comm; each process starts from
// another initialization, which the first's replaces.
template <class Net, class Optimizer>
run train_shared(const dist::communicator& comm, const batches<Net>& data, std::size_t steps,
                 const Optimizer& settings, kiln::thread_pool& pool,
                 std::size_t bucket_bytes = dist::default_bucket_bytes) {
    kiln::model<Net> net(kiln::init::pytorch_default{}, 5 + 1000 * comm.rank());
    dist::data_parallel_trainer<Net, loss_of<Net>, Optimizer> train(comm, net, settings, data.batch,
                                                                    pool, bucket_bytes);
    if constexpr (std::is_same_v<Optimizer, kiln::adamw>) {
        train.local().set_schedule(kiln::warmup_cosine{.warmup_steps = 2, .total_steps = 12});
        train.local().set_max_gradient_norm(0.5);
        train.local().set_seed(99);
    }
    run result;
    for (std::size_t step = 0; step < steps; ++step)
        result.losses.push_back(train.step(data.inputs_of(step), data.labels_of(step)));
    train.require_identical("after the run");
    result.parameters.assign(net.parameters().begin(), net.parameters().end());
    return result;
}

void check_bit_for_bit(const run& a, const run& b) {
    REQUIRE(a.losses.size() == b.losses.size());
    for (std::size_t i = 0; i < a.losses.size(); ++i)
        CHECK_MESSAGE(a.losses[i] == b.losses[i], "loss of step ", i);
    CHECK(std::equal(a.parameters.begin(), a.parameters.end(), b.parameters.begin()));
}

// Float sums in another order: within tolerance, relative to the values' size.
void check_close(const run& shared, const run& alone, double tolerance) {
    REQUIRE(shared.losses.size() == alone.losses.size());
    for (std::size_t i = 0; i < shared.losses.size(); ++i)
        CHECK_MESSAGE(std::abs(shared.losses[i] - alone.losses[i]) <=
                          tolerance * std::max(1.0f, std::abs(alone.losses[i])),
                      "loss of step ", i, ": ", shared.losses[i], " against ", alone.losses[i]);
    double worst = 0;
    for (std::size_t i = 0; i < alone.parameters.size(); ++i)
        worst = std::max(worst, std::abs(double{shared.parameters[i]} - alone.parameters[i]) /
                                    std::max(1.0, std::abs(double{alone.parameters[i]})));
    CHECK_MESSAGE(worst <= tolerance, "largest parameter difference ", worst);
}

// Steps, and the tolerance of N processes against one: float32 sums of a few
// dozen terms in another order, compounded over the steps.
constexpr std::size_t steps = 12;
constexpr double tolerance = 2e-5;

} // namespace

TEST_SUITE("data_parallel") {
    TEST_CASE("one process trains as the single-process trainer, bit for bit") {
        const dist::communicator alone(MPI_COMM_SELF);
        for (std::size_t threads : {1, 2}) {
            kiln::thread_pool pool(threads);
            CAPTURE(threads);
            const batches<mlp> mlp_data(10, steps, 1);
            check_bit_for_bit(train_shared(alone, mlp_data, steps, kiln::sgd{0.1, 0.9}, pool),
                              train_alone(mlp_data, steps, kiln::sgd{0.1, 0.9}, pool));
            const batches<gpt> gpt_data(6, steps, 2);
            check_bit_for_bit(
                train_shared(alone, gpt_data, steps, kiln::adamw{.learning_rate = 3e-3}, pool),
                train_alone(gpt_data, steps, kiln::adamw{.learning_rate = 3e-3}, pool));
        }
    }

    TEST_CASE("every process's share of the mini-batch trains as one process on all of it") {
        for (std::size_t threads : {1, 2}) {
            kiln::thread_pool pool(threads);
            CAPTURE(threads);
            // 10 and 7 examples: uneven shares on 3 processes; 2: an empty one.
            for (std::size_t batch : {10, 7, 2}) {
                CAPTURE(batch);
                const batches<mlp> mlp_data(batch, steps, 3);
                check_close(train_shared(*world, mlp_data, steps, kiln::sgd{0.1, 0.9}, pool),
                            train_alone(mlp_data, steps, kiln::sgd{0.1, 0.9}, pool), tolerance);
                const batches<gpt> gpt_data(batch, steps, 4);
                check_close(
                    train_shared(*world, gpt_data, steps, kiln::adamw{.learning_rate = 3e-3}, pool),
                    train_alone(gpt_data, steps, kiln::adamw{.learning_rate = 3e-3}, pool),
                    tolerance);
            }
        }
    }

    TEST_CASE("a run on the same number of processes repeats bit for bit") {
        kiln::thread_pool pool(1);
        const batches<gpt> data(9, steps, 5);
        check_bit_for_bit(
            train_shared(*world, data, steps, kiln::adamw{.learning_rate = 3e-3}, pool),
            train_shared(*world, data, steps, kiln::adamw{.learning_rate = 3e-3}, pool));
    }

    TEST_CASE("buckets of every size give the same step, up to the order of float sums") {
        // Buckets started during backward are summed by MPI's non-blocking algorithm, the
        // last by its blocking one: on 3 processes they may add in another order. Each
        // process still gets the same bits (train_shared checks the fingerprints).
        kiln::thread_pool pool(1);
        const batches<gpt> data(9, steps, 6);
        for (std::size_t bucket_bytes : {sizeof(float), std::size_t{4096}, std::size_t{1} << 30}) {
            CAPTURE(bucket_bytes);
            const run small = train_shared(*world, data, steps, kiln::adamw{.learning_rate = 3e-3},
                                           pool, bucket_bytes);
            const run whole = train_shared(*world, data, steps, kiln::adamw{.learning_rate = 3e-3},
                                           pool, dist::default_bucket_bytes);
            if (world->size() <= 2) // a + b is b + a: the same bits
                check_bit_for_bit(small, whole);
            else
                check_close(small, whole, tolerance);
        }
    }

    TEST_CASE("a process whose state drifts is found on every process") {
        kiln::thread_pool pool(1);
        kiln::model<mlp> net(kiln::init::pytorch_default{}, 7);
        dist::data_parallel_trainer<mlp> train(*world, net, kiln::sgd{0.1}, 4, pool);
        if (world->size() == 1) return;
        if (world->rank() == world->size() - 1) net.parameters()[3] += 1e-6f;
        CHECK_THROWS_AS(train.require_identical("in the test"), dist::distributed_error);
        train.start_identical(); // the first's state again, everywhere
        CHECK_NOTHROW(train.require_identical("in the test"));
    }

    TEST_CASE("an evaluation shared between the processes is the whole set's") {
        kiln::thread_pool pool(1);
        const batches<mlp> data(103, 1, 8);
        kiln::model<mlp> net(kiln::init::pytorch_default{}, 9);
        kiln::workspace<mlp, float> space(16, pool);
        const auto x = data.inputs_of(0);
        const auto y = data.labels_of(0);
        const kiln::evaluation alone = kiln::evaluate(net, space, x, y);
        const kiln::evaluation shared = dist::evaluate(*world, net, space, x, y);
        CHECK(shared.count == alone.count);
        CHECK(shared.correct == alone.correct);
        CHECK(shared.loss == doctest::Approx(alone.loss).epsilon(1e-6));
        // The same bits on every process: decisions made from it agree.
        CHECK(world->min(shared.loss) == world->max(shared.loss));

        kiln::evaluator<mlp> scorer(16, pool);
        const double loss = dist::mean_loss(*world, scorer, net, x, y);
        CHECK(loss == doctest::Approx(scorer.mean_loss(net, x, y)).epsilon(1e-6));
        CHECK(world->min(loss) == world->max(loss));
    }
}

int main(int argc, char** argv) {
    dist::session session(argc, argv);
    int failed = 0;
    {
        dist::communicator comm;
        world = &comm;
        doctest::Context context(argc, argv);
        // One report: the first process's (each runs every case; a failure
        // elsewhere shows in the exit code, and its process prints it).
        failed = context.run() != 0;
        failed = static_cast<int>(comm.max(static_cast<std::int64_t>(failed)));
        world = nullptr;
    }
    return failed;
}
