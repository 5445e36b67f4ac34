#pragma once
// kiln::thread_pool: persistent workers that split one pass of a layer (its
// batch rows, or its weight rows) between the machine's cores. A pass hands the
// workers a function pointer and a context pointer: nothing is allocated, and
// workers spin briefly before sleeping, so a split costs well under a
// microsecond when passes follow each other.
//
// Workers are POSIX threads: <thread> (with C++20's stop_token and semaphore)
// cost every program that includes kiln a tenth of a second to parse, and the
// pool needs nothing of it but create and join.
#include "kiln/core/packing_area.hpp"
#include "kiln/core/pass_trace.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

namespace kiln {

// One worker's part of a pass: part `index` of `count`, and its packing area.
struct work_share {
    std::size_t index = 0;
    std::size_t count = 1;
    packing_area packing{};

    // This part's rows of [0, total), split in multiples of `grain` rows so that
    // register tiles stay full.
    struct range {
        std::size_t begin;
        std::size_t end;
    };
    constexpr range rows(std::size_t total, std::size_t grain = 1) const noexcept {
        const std::size_t grains = (total + grain - 1) / grain;
        const std::size_t per_part = (grains + count - 1) / count * grain;
        const std::size_t begin = std::min(total, index * per_part);
        return {begin, std::min(total, begin + per_part)};
    }
};

class thread_pool {
public:
    // threads counts the calling thread: thread_pool(1) runs everything inline.
    explicit thread_pool(std::size_t threads = default_threads())
        : size_(std::max<std::size_t>(1, threads)), starts_(size_), claimed_(size_) {
        workers_.reserve(size_ - 1);
        for (std::size_t i = 1; i < size_; ++i) {
            pthread_t worker;
            starts_[i] = {this, i};
            if (const int error =
                    pthread_create(&worker, nullptr, &thread_pool::start, &starts_[i])) {
                stop_workers();
                throw std::runtime_error(std::string("kiln: cannot start a worker thread: ") +
                                         std::strerror(error));
            }
            workers_.push_back(worker);
        }
    }
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;
    ~thread_pool() { stop_workers(); }

    std::size_t size() const noexcept { return size_; }

    // Calls f(work_share{part, parts}) for every part in [0, parts) and returns when
    // all have finished. parts is capped at size(). Part i is thread i's (the
    // caller is thread 0), so that a pass split the same way each time finds its
    // share of the weights in the same core's cache; a thread that is done takes
    // any part its owner has not claimed yet: a worker the OS has descheduled
    // delays nothing. If a worker has not even checked in from the last pass, the
    // pass runs whole on the caller (a share's results never depend on the split).
    template <class F>
    void run(std::size_t parts, F&& f) {
        parts = std::min(parts, size_);
        if (parts <= 1 || !workers_checked_in()) {
            pass_trace::record(pass_trace::kind::pass_begin, 0, 1, pass_name<F>());
            pass_trace::record(pass_trace::kind::part_begin, 0, 0);
            f(work_share{0, 1});
            pass_trace::record(pass_trace::kind::part_end, 0, 0);
            pass_trace::record(pass_trace::kind::pass_end, 0, 1);
            return;
        }
        run_shared(
            parts, pass_name<F>(),
            [](void* context, work_share share) {
                (*static_cast<std::remove_reference_t<F>*>(context))(share);
            },
            &f);
    }

    // Calls f(part, slot) for every part in [0, size()), one part per core: the
    // parts are fixed by the pool's size, not by which cores are free, so sums kept
    // per part and added in order do not depend on the split. slot (< size()) names
    // the per-core things a call may use; calls with the same slot run one after
    // another (a pass run whole on the caller takes every part under slot 0).
    template <class F>
    void run_fixed_parts(F&& f) {
        const std::size_t parts = size_;
        run(parts, [&](work_share share) {
            const work_share::range mine = share.rows(parts);
            for (std::size_t part = mine.begin; part < mine.end; ++part)
                f(part, share.index);
        });
    }

    // KILN_THREADS if set, else the machine's cores.
    static std::size_t default_threads() {
        if (const char* text = std::getenv("KILN_THREADS")) {
            const long value = std::strtol(text, nullptr, 10);
            if (value >= 1) return static_cast<std::size_t>(value);
        }
        return static_cast<std::size_t>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    }

private:
    // The trace names a pass by its callable's type, which names the layer.
    template <class F>
    static const char* pass_name() noexcept {
        if constexpr (pass_trace::enabled)
            return typeid(F).name();
        else
            return nullptr;
    }

    // run's hand-over to the workers, the same for every task: a plain function, so
    // that each pass's lambda compiles only the call above, not the hand-over.
    void run_shared(std::size_t parts, const char* name, void (*task)(void*, work_share),
                    void* context) {
        pass_trace::record(pass_trace::kind::pass_begin, 0, parts, name);
        task_ = task;
        context_ = context;
        parts_ = parts;
        for (std::size_t part = 0; part < parts; ++part)
            claimed_[part].store(false, std::memory_order_relaxed);
        done_parts_.store(0, std::memory_order_relaxed);
        // Every worker checks in, taking part or not; until all have, the task
        // fields are not written again.
        pending_.store(size_ - 1, std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_release);
        generation_.notify_all();
        run_parts(0);
        while (done_parts_.load(std::memory_order_acquire) != parts)
            spin_pause();
        pass_trace::record(pass_trace::kind::pass_end, 0, parts);
    }

    struct worker_start {
        thread_pool* pool;
        std::size_t index;
    };
    static void* start(void* argument) {
        const auto* facts = static_cast<const worker_start*>(argument);
        facts->pool->work(facts->index);
        return nullptr;
    }

    void stop_workers() noexcept {
        stopping_.store(true, std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_release);
        generation_.notify_all();
        for (const pthread_t worker : workers_)
            pthread_join(worker, nullptr);
    }

    static void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }

    // Whether every worker has checked in from the last pass. One that finished the
    // last part checks in a moment after the caller sees it done, so back-to-back
    // passes wait that moment (a few hundred pauses) rather than run serially; only
    // a worker the OS has descheduled makes the caller give up.
    bool workers_checked_in() const noexcept {
        for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
            if (spins == 2000) return false;
            spin_pause();
        }
        return true;
    }

    // Runs thread `self`'s own part of the current pass, then any part still
    // unclaimed.
    void run_parts(std::size_t self) {
        auto run_part = [&](std::size_t part) {
            if (claimed_[part].exchange(true, std::memory_order_acq_rel)) return;
            pass_trace::record(pass_trace::kind::part_begin, self, part);
            task_(context_, work_share{part, parts_});
            pass_trace::record(pass_trace::kind::part_end, self, part);
            done_parts_.fetch_add(1, std::memory_order_release);
        };
        if (self < parts_) run_part(self);
        for (std::size_t part = 0; part < parts_; ++part)
            if (part != self) run_part(part);
    }

    void work(std::size_t self) {
        std::uint64_t seen = 0;
        for (;;) {
            // Spin a while (the next pass usually follows within microseconds), then sleep.
            std::uint64_t now = generation_.load(std::memory_order_acquire);
            for (int spins = 0; now == seen && spins < 20000; ++spins) {
                spin_pause();
                now = generation_.load(std::memory_order_acquire);
            }
            if (now == seen) {
                generation_.wait(seen, std::memory_order_acquire);
                now = generation_.load(std::memory_order_acquire);
            }
            seen = now;
            if (stopping_.load(std::memory_order_relaxed)) return;
            run_parts(self);
            pending_.fetch_sub(1, std::memory_order_acq_rel);
        }
    }

    std::size_t size_;
    std::vector<pthread_t> workers_;
    std::vector<worker_start> starts_; // what each worker is told: its pool and index
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<std::size_t> pending_{0};
    std::vector<std::atomic<bool>> claimed_; // per part, reset before each pass
    std::atomic<std::size_t> done_parts_{0};
    std::atomic<bool> stopping_{false};
    void (*task_)(void*, work_share) = nullptr;
    void* context_ = nullptr;
    std::size_t parts_ = 0;
};

// The pool every workspace uses unless it is given another.
inline thread_pool& default_thread_pool() {
    static thread_pool pool;
    return pool;
}

} // namespace kiln
