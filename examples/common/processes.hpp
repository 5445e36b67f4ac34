#pragma once
// The processes an example runs in: this one alone, or every process of an MPI
// run (kiln/distributed/, compiled in when meson finds MPI: KILN_WITH_MPI).
// --data_parallel trains one run in all of them, each taking its rows of every
// mini-batch; --sweep started by mpirun runs one configuration per process. The
// rest of a program reads the same either way: one trainer type that steps alone
// or shared, evaluations that sum over the processes, and one way to fail.
#include "run_reporting_errors.hpp"

#include <kiln/kiln.hpp>
#include <kiln/train/evaluator.hpp>
#ifdef KILN_WITH_MPI
#include <kiln/distributed/data_parallel.hpp>
#include <kiln/distributed/evaluate.hpp>
#endif

#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kiln::examples {

enum class process_role {
    alone,         // no MPI
    data_parallel, // every process trains the same run
    sweep,         // every process trains configurations of its own
};

class processes {
public:
    // Starts MPI for `role` (alone starts nothing); `flag` names the option that
    // asked, for the error of a build without MPI.
    processes(process_role role, [[maybe_unused]] const std::string& flag) : role_(role) {
        if (role == process_role::alone) return;
#ifdef KILN_WITH_MPI
        static int argc = 0;
        static char** argv = nullptr;
        session_.emplace(argc, argv);
        comm_.emplace();
        // The other processes of one run would print the same lines.
        if (role == process_role::data_parallel && !comm_->is_root())
            if (std::freopen("/dev/null", "w", stdout) == nullptr)
                throw std::runtime_error("cannot quiet process " + std::to_string(rank()));
#else
        throw std::invalid_argument(flag + " needs MPI, and this build has none: apt-get install "
                                           "libopenmpi-dev openmpi-bin, then meson setup "
                                           "--reconfigure the build folder");
#endif
    }

    bool data_parallel() const noexcept {
        return role_ == process_role::data_parallel;
    }
#ifdef KILN_WITH_MPI
    std::size_t rank() const noexcept {
        return comm_ ? comm_->rank() : 0;
    }
    std::size_t size() const noexcept {
        return comm_ ? comm_->size() : 1;
    }
    const kiln::distributed::communicator& comm() const {
        return *comm_;
    }
#else
    std::size_t rank() const noexcept {
        return 0;
    }
    std::size_t size() const noexcept {
        return 1;
    }
#endif
    bool is_root() const noexcept {
        return rank() == 0;
    }
    // Whether this process writes files: every process of a sweep writes its own
    // runs', the first alone writes a shared run's.
    bool writes_files() const noexcept {
        return !data_parallel() || is_root();
    }
    // Whether this process runs configuration `index`: in a sweep, every size()-th;
    // otherwise, every one.
    bool runs_configuration(std::size_t index) const noexcept {
        return role_ != process_role::sweep || index % size() == rank();
    }

    // kiln::evaluate and evaluator::mean_loss, over every process's rows when the
    // processes train one run.
    template <class Loss = softmax_cross_entropy, class Net, class T, class Space, class X,
              class Labels>
    kiln::evaluation evaluate(const kiln::model<Net, T>& net, Space& space, X x,
                              Labels labels) const {
#ifdef KILN_WITH_MPI
        if (data_parallel())
            return kiln::distributed::evaluate<Loss>(*comm_, net, space, x, labels);
#endif
        return kiln::evaluate<Loss>(net, space, x, labels);
    }
    template <class Scorer, class Net, class T, class X, class Labels>
    double mean_loss(Scorer& scorer, const kiln::model<Net, T>& net, X x, Labels labels) const {
#ifdef KILN_WITH_MPI
        if (data_parallel()) return kiln::distributed::mean_loss(*comm_, scorer, net, x, labels);
#endif
        return scorer.mean_loss(net, x, labels);
    }

    // Every process's text on the first (a sweep's results); alone, its own.
    std::vector<std::string> gather(const std::string& text) const {
#ifdef KILN_WITH_MPI
        if (comm_) return comm_->gather(text);
#endif
        return {text};
    }

    // How errors name this process: "mlp", or "mlp (process 1 of 2)".
    std::string name(const char* program) const {
        if (role_ == process_role::alone) return program;
        return std::string(program) + " (process " + std::to_string(rank()) + " of " +
               std::to_string(size()) + ")";
    }
    // Ends every process after an error on this one (alone: returns the code).
    int end_with(int code) const {
#ifdef KILN_WITH_MPI
        if (comm_ && code != 0 && size() > 1) {
            // An error every process meets alike (a damaged checkpoint) would have
            // each call MPI_Abort at once, and Open MPI 4.1's mpirun once died of
            // SIGSEGV under that (test/mpi/mpi_runs.py): the others give process
            // 0's abort a moment to end them first.
            if (!is_root()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
            kiln::distributed::end_every_process(code);
        }
#endif
        return code;
    }

private:
    process_role role_;
#ifdef KILN_WITH_MPI
    std::optional<kiln::distributed::session> session_;
    std::optional<kiln::distributed::communicator> comm_;
#endif
};

// Whether this program was started by an MPI launcher (a --sweep shares its
// configurations between the processes then).
inline bool started_by_mpi() {
#ifdef KILN_WITH_MPI
    return kiln::distributed::launched_by_mpi();
#else
    return false;
#endif
}

// The role that --data_parallel and --sweep ask for, and the first's help.
inline process_role role_asked(bool data_parallel, bool sweep) {
    if (data_parallel) return process_role::data_parallel;
    return sweep && started_by_mpi() ? process_role::sweep : process_role::alone;
}
inline constexpr const char* data_parallel_help =
    "train in every process of an MPI run, each on its share of every mini-batch "
    "(mpirun -np N ... --data_parallel; docs/distributed.md)";

// run_reporting_errors for a program in `role`: an error on any process ends
// every process, with this one's message and exit code.
template <class Work>
int run_in_processes(const char* program, process_role role, const std::string& flag, Work&& work) {
    std::optional<processes> procs;
    if (const int code = run_reporting_errors(program, [&] {
            procs.emplace(role, flag);
            return 0;
        }))
        return code;
    const std::string name = procs->name(program);
    return procs->end_with(run_reporting_errors(name.c_str(), [&] { return work(*procs); }));
}

// A trainer that steps alone or shares every mini-batch between the processes
// (kiln::distributed::data_parallel_trainer). local(): this process's trainer,
// for settings, checkpoints and check_finite.
template <class Net, class Loss = softmax_cross_entropy, class Optimizer = sgd>
class example_trainer {
public:
    example_trainer(const processes& procs, kiln::model<Net>& net, const Optimizer& optimizer,
                    std::size_t max_batch) {
#ifdef KILN_WITH_MPI
        if (procs.data_parallel()) {
            shared_.emplace(procs.comm(), net, optimizer, max_batch);
            return;
        }
#endif
        (void)procs;
        alone_.emplace(net, optimizer, max_batch);
    }

    template <class X, class Labels>
    float step(X x, Labels labels) {
#ifdef KILN_WITH_MPI
        if (shared_) return shared_->step(x, labels);
#endif
        return alone_->step(x, labels);
    }
    kiln::trainer<Net, Loss, Optimizer>& local() noexcept {
#ifdef KILN_WITH_MPI
        if (shared_) return shared_->local();
#endif
        return *alone_;
    }
    // After restoring a run (every process from the same checkpoint), or at an
    // epoch's end: throws unless every process holds the same training state.
    void require_identical(const std::string& when) {
#ifdef KILN_WITH_MPI
        if (shared_) shared_->require_identical(when);
#endif
        (void)when;
    }

private:
    std::optional<kiln::trainer<Net, Loss, Optimizer>> alone_;
#ifdef KILN_WITH_MPI
    std::optional<kiln::distributed::data_parallel_trainer<Net, Loss, Optimizer>> shared_;
#endif
};

} // namespace kiln::examples
