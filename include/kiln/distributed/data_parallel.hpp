#pragma once
// kiln::distributed::data_parallel_trainer: a trainer whose mini-batches are
// shared between the processes of an MPI run. Every process holds the whole
// model and optimizer, started from the first process's (and checked by a
// fingerprint); each runs forward and backward on its rows of every mini-batch,
// the same rows for the same number of processes; the gradient is summed over
// the processes in buckets, each started (MPI_Iallreduce) as soon as backward has
// finished the layers it covers, while the layers below still run; and every
// process applies the same update to the same sum.
//
// For a given number of processes a run repeats bit for bit. With one, it is the
// single-process trainer's, bit for bit. With several, only the order in which
// floats are added differs from one process training the whole mini-batch:
// dropout's masks follow each example's place in the whole mini-batch.
#include "kiln/distributed/communicator.hpp"
#include "kiln/train/checkpoint.hpp"
#include "kiln/train/trainer.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln {
namespace error {
template <class Net>
struct data_parallel_with_whole_batch_layer {
    static void report() {
        static_assert(facts_of_the_error<Net>,
                      "kiln: a data-parallel trainer gives each process part of every "
                      "mini-batch, but 'Net' has a layer that needs the whole mini-batch "
                      "(batch_norm's statistics): each process would normalize by its own part's "
                      "statistics and keep running statistics of its own. Fix: train it in one "
                      "process (kiln::trainer, which splits its passes between cores), or use "
                      "layer_norm, which needs no other examples.");
    }
};
} // namespace error

namespace distributed {

// The gradient's sum over the processes, in buckets of at least `bucket` values
// started as backward finishes them (the listener of trainer::step_share). The
// buckets' bounds follow the order of the layers alone, never the timing, so
// every process starts the same sums in the same order.
template <class T>
class gradient_buckets {
public:
    gradient_buckets(const communicator& comm, std::size_t size, std::size_t bucket)
        : comm_(&comm), size_(size), bucket_(std::max<std::size_t>(1, bucket)) {
        // Every bucket but the last holds `bucket` values or more: no allocation in a step.
        requests_.reserve((size_ / bucket_ + 1) * (size_ / detail::largest_count + 1) + 1);
    }

    // Before each step's backward, which writes the gradient at `gradients`.
    void begin(T* gradients) noexcept {
        gradients_ = gradients;
        final_from_ = size_;
        started_from_ = size_;
    }
    // The gradients from offset on are final. With all of them final no layer is
    // left to overlap, and finish sums the rest in one blocking call (Open MPI's
    // blocking allreduce is up to twice as fast as its non-blocking one).
    void gradients_final(std::size_t offset) {
        if (comm_->size() == 1 || offset >= final_from_) return;
        final_from_ = offset;
        if (final_from_ != 0 && started_from_ - final_from_ >= bucket_) {
            comm_->start_sum(gradients_ + final_from_, started_from_ - final_from_, requests_);
            started_from_ = final_from_;
        } else if (!requests_.empty()) {
            communicator::progress(requests_);
        }
    }
    // Sums what is left, waits for every bucket, and returns the loss summed over
    // the processes (each gave its share's part of the mini-batch's mean).
    T finish(T loss) {
        if (comm_->size() == 1) return loss;
        comm_->sum_in_place(gradients_, started_from_);
        loss = comm_->sum(loss);
        communicator::wait_all(requests_);
        return loss;
    }

private:
    const communicator* comm_;
    std::size_t size_;
    std::size_t bucket_;
    T* gradients_ = nullptr;
    std::size_t final_from_ = 0;   // backward has finished everything from here on
    std::size_t started_from_ = 0; // and the sum of everything from here on is started
    std::vector<MPI_Request> requests_;
};

// This process's rows of a mini-batch of `batch` examples: the same split as a
// thread pool's (each takes ceil(batch / processes) rows, the last what is left).
inline work_share::range rows_of_process(const communicator& comm, std::size_t batch) noexcept {
    return work_share{comm.rank(), comm.size()}.rows(batch);
}

// 256 KiB buckets: over shared memory and networks alike, a sum of that size
// spends most of its time moving data, not in the per-message latency
// (docs/distributed.md measures both), and a small network's backward still
// fills several.
inline constexpr std::size_t default_bucket_bytes = std::size_t{1} << 18;

template <class Net, class Loss = softmax_cross_entropy, class Optimizer = sgd, class T = float>
class data_parallel_trainer {
    static constexpr bool whole_batch_layers =
        static_sum<Net::layer_count>(
            [](auto i) { return needs_whole_batch<type_at<i, typename Net::layers>>; }) != 0;
    static_assert(checked(enforce<rule<!whole_batch_layers,
                                       kiln::error::data_parallel_with_whole_batch_layer<Net>>>));

public:
    using local_trainer = trainer<Net, Loss, Optimizer, T>;

    // max_batch: the largest whole mini-batch; this process's workspace holds its
    // share. Every process takes the first's model (and optimizer state).
    data_parallel_trainer(const communicator& comm, model<Net, T>& net, const Optimizer& optimizer,
                          std::size_t max_batch, thread_pool& pool = default_thread_pool(),
                          std::size_t bucket_bytes = default_bucket_bytes)
        : comm_(comm),
          local_(net, optimizer, std::max<std::size_t>(1, rows_of_process_0(max_batch)), pool),
          buckets_(comm, net.parameters().size(), bucket_bytes / sizeof(T)) {
        start_identical();
    }

    // One step on the whole mini-batch (every process passes the same x and
    // labels); returns its mean loss, the same on every process.
    template <class Shape, class U, class Labels>
    requires is_label_or_target_view<Labels> T step(batch_view<Shape, U> x, Labels labels) {
        const work_share::range mine = rows_of_process(comm_, x.batch());
        const std::size_t count = mine.end - mine.begin;
        buckets_.begin(local_.net().gradients().data());
        return local_.step_share(x.rows(mine.begin, count), labels.rows(mine.begin, count),
                                 mine.begin, x.batch(), buckets_);
    }

    // The trainer of this process: its settings (schedule, clipping, seed), its
    // checkpoints, check_finite's report. Settings changed here must change alike on
    // every process (require_identical checks).
    local_trainer& local() noexcept { return local_; }
    model<Net, T>& net() noexcept { return local_.net(); }

    // Every process takes the first's model, optimizer state and training
    // controls, then checks that they hold the same. After restoring a run on the
    // first process only, call it again.
    [[gnu::cold]] void start_identical() {
        comm_.broadcast(parameters());
        std::vector<std::byte> bytes;
        if (comm_.is_root()) bytes = progress_bytes();
        comm_.broadcast(bytes);
        if (!comm_.is_root())
            restore_progress(checkpoint::decode(bytes, "(the first process's training state)"),
                             local_);
        require_identical("at the start");
    }

    // A fingerprint of this process's whole training state: its parameters, and the
    // optimizer's state and the controls as a checkpoint keeps them.
    [[gnu::cold]] std::uint64_t fingerprint() {
        const auto progress = progress_bytes();
        // The encoding ends with its own CRC-32, whose CRC-32 with it is a constant.
        const std::size_t body = progress.size() - kiln::detail::checkpoint_checksum_size;
        const std::uint32_t of_parameters =
            kiln::detail::crc32_of(std::as_bytes(std::span<const T>(parameters())));
        const std::uint32_t of_progress = kiln::detail::crc32_of(std::span(progress).first(body));
        return std::uint64_t{of_parameters} << 32 | of_progress;
    }
    // Throws unless every process holds the same training state (`when` says when,
    // in the message).
    [[gnu::cold]] void require_identical(const std::string& when) {
        const std::uint64_t mine = fingerprint();
        const std::uint64_t low = comm_.min(mine);
        const std::uint64_t high = comm_.max(mine);
        if (low != high)
            throw distributed_error(
                "the " + std::to_string(comm_.size()) +
                " processes hold different training states " + when + " (fingerprints from " +
                std::to_string(low) + " to " + std::to_string(high) + "; process " +
                std::to_string(comm_.rank()) + " has " + std::to_string(mine) + ")");
    }

private:
    std::size_t rows_of_process_0(std::size_t batch) const noexcept {
        const work_share::range first = work_share{0, comm_.size()}.rows(batch);
        return first.end - first.begin;
    }
    std::span<T> parameters() noexcept {
        return {local_.net().parameters().data(), local_.net().parameters().size()};
    }
    // The optimizer's state and the controls, as a checkpoint without the model
    // (whose parameter names would cost the compiler more than the rest).
    [[gnu::cold]] std::vector<std::byte> progress_bytes() {
        checkpoint state("", checkpoint::element_of<T>, Net::param_count, 0);
        store_progress(state, local_);
        return state.encode();
    }

    const communicator& comm_;
    local_trainer local_;
    gradient_buckets<T> buckets_;
};

} // namespace distributed
} // namespace kiln
