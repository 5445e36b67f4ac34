#pragma once
// kiln::distributed::communicator: the processes of an MPI run (Open MPI 4.1 and
// any MPI-3 library), as kiln uses them: sums over every process, blocking or
// started now and waited for later, a broadcast from the first process, and one
// way out on an error. MPI reports failures as return codes here (not by ending
// the process), and each becomes a distributed_error naming the call; a program
// that catches one ends every process with end_every_process, leaving files as
// the last atomic save left them.
//
// Only the thread that made the session calls MPI (MPI_THREAD_FUNNELED): kiln's
// pool threads never do.
// The C API alone: MPI's old C++ bindings add compile time and a library to link.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <sched.h>
#include <unistd.h>

namespace kiln::distributed {

struct distributed_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {
[[gnu::cold]] inline std::string mpi_error_text(int code) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
        return "MPI error " + std::to_string(code);
    return std::string(text, static_cast<std::size_t>(length));
}
inline void check(int code, const char* call) {
    if (code != MPI_SUCCESS) [[unlikely]]
        throw distributed_error(std::string(call) + " failed: " + mpi_error_text(code));
}

template <class T>
MPI_Datatype datatype_of() {
    if constexpr (std::is_same_v<T, float>)
        return MPI_FLOAT;
    else if constexpr (std::is_same_v<T, double>)
        return MPI_DOUBLE;
    else if constexpr (std::is_same_v<T, std::uint64_t>)
        return MPI_UINT64_T;
    else if constexpr (std::is_same_v<T, std::int64_t>)
        return MPI_INT64_T;
    else if constexpr (std::is_same_v<T, std::byte>)
        return MPI_BYTE;
    else
        static_assert(!sizeof(T), "kiln::distributed: no MPI type for this scalar");
}

// MPI counts are int: a longer buffer goes in pieces of at most 2^30 values.
inline constexpr std::size_t largest_count = std::size_t{1} << 30;
template <class F>
void in_pieces(std::size_t count, F&& f) {
    for (std::size_t first = 0; first < count; first += largest_count)
        f(first, static_cast<int>(std::min(largest_count, count - first)));
}
} // namespace detail

// MPI for the life of the object. Make it first thing in main, before anything
// uses kiln's default thread pool: unless KILN_THREADS says otherwise, each
// process then takes its share of this machine's cores (the cores MPI bound it to,
// or the machine's divided among the processes on it), not every core.
class session {
public:
    session(int& argc, char**& argv) {
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (initialized) throw distributed_error("MPI was already initialized");
        int provided = 0;
        detail::check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided),
                      "MPI_Init_thread");
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        share_cores();
    }
    ~session() {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) MPI_Finalize();
    }
    session(const session&) = delete;
    session& operator=(const session&) = delete;

private:
    static void share_cores() {
        if (std::getenv("KILN_THREADS") != nullptr) return;
        MPI_Comm local;
        if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) !=
            MPI_SUCCESS)
            return;
        int on_this_machine = 1;
        MPI_Comm_size(local, &on_this_machine);
        MPI_Comm_free(&local);
        const long online = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
        cpu_set_t allowed;
        long bound = online;
        if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) bound = CPU_COUNT(&allowed);
        // Bound to fewer cores than the machine has: those are this process's own.
        const long threads = bound < online ? bound : std::max(1L, online / on_this_machine);
        setenv("KILN_THREADS", std::to_string(threads).c_str(), 0);
    }
};

// Ends every process of the run with `code` (MPI_Abort), after flushing what this
// one printed. For an error that leaves the processes unable to go on together.
[[noreturn]] inline void end_every_process(int code) {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code); // MPI_Abort does not return; should it, this process still ends
}

class communicator {
public:
    // The processes of `group` (every process by default), in a communicator of
    // kiln's own, so that kiln's messages never meet the program's.
    explicit communicator(MPI_Comm group = MPI_COMM_WORLD) {
        detail::check(MPI_Comm_dup(group, &comm_), "MPI_Comm_dup");
        MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
        MPI_Comm_rank(comm_, &rank_);
        MPI_Comm_size(comm_, &size_);
    }
    ~communicator() {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) MPI_Comm_free(&comm_);
    }
    communicator(const communicator&) = delete;
    communicator& operator=(const communicator&) = delete;

    std::size_t rank() const noexcept { return static_cast<std::size_t>(rank_); }
    std::size_t size() const noexcept { return static_cast<std::size_t>(size_); }
    bool is_root() const noexcept { return rank_ == 0; }
    MPI_Comm handle() const noexcept { return comm_; }

    // Replaces values by their sums over every process, the same on every one: the
    // first process sums and sends its sums to the others (MPI_Allreduce need not
    // give every process the same bits), for results that decide what every
    // process does next.
    template <class T>
    void sum(std::span<T> values) const {
        detail::in_pieces(values.size(), [&](std::size_t first, int count) {
            T* const data = values.data() + first;
            detail::check(MPI_Reduce(is_root() ? MPI_IN_PLACE : data, is_root() ? data : nullptr,
                                     count, detail::datatype_of<T>(), MPI_SUM, 0, comm_),
                          "MPI_Reduce");
            detail::check(MPI_Bcast(data, count, detail::datatype_of<T>(), 0, comm_), "MPI_Bcast");
        });
    }
    template <class T>
    T sum(T value) const {
        sum(std::span<T>(&value, 1));
        return value;
    }
    // The smallest and largest of a value over every process.
    template <class T>
    T min(T value) const {
        detail::check(
            MPI_Allreduce(MPI_IN_PLACE, &value, 1, detail::datatype_of<T>(), MPI_MIN, comm_),
            "MPI_Allreduce");
        return value;
    }
    template <class T>
    T max(T value) const {
        detail::check(
            MPI_Allreduce(MPI_IN_PLACE, &value, 1, detail::datatype_of<T>(), MPI_MAX, comm_),
            "MPI_Allreduce");
        return value;
    }

    // Replaces count values at data by their sums over every process (MPI_Allreduce:
    // the fastest sum, for values every process then uses alike, such as a gradient).
    template <class T>
    void sum_in_place(T* data, std::size_t count) const {
        detail::in_pieces(count, [&](std::size_t first, int piece) {
            detail::check(MPI_Allreduce(MPI_IN_PLACE, data + first, piece, detail::datatype_of<T>(),
                                        MPI_SUM, comm_),
                          "MPI_Allreduce");
        });
    }

    // Starts summing count values at data over every process; the sum is there
    // once wait_all returns. Every process starts the same sums in the same order.
    template <class T>
    void start_sum(T* data, std::size_t count, std::vector<MPI_Request>& requests) const {
        detail::in_pieces(count, [&](std::size_t first, int piece) {
            requests.emplace_back();
            detail::check(MPI_Iallreduce(MPI_IN_PLACE, data + first, piece,
                                         detail::datatype_of<T>(), MPI_SUM, comm_,
                                         &requests.back()),
                          "MPI_Iallreduce");
        });
    }
    // Lets started sums go on (MPI moves a started operation only inside its calls).
    static void progress(std::vector<MPI_Request>& requests) {
        int done = 0;
        detail::check(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done,
                                  MPI_STATUSES_IGNORE),
                      "MPI_Testall");
    }
    static void wait_all(std::vector<MPI_Request>& requests) {
        detail::check(
            MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE),
            "MPI_Waitall");
        requests.clear();
    }

    // The first process's values, on every process.
    template <class T>
    void broadcast(std::span<T> values) const {
        detail::in_pieces(values.size(), [&](std::size_t first, int count) {
            detail::check(
                MPI_Bcast(values.data() + first, count, detail::datatype_of<T>(), 0, comm_),
                "MPI_Bcast");
        });
    }
    // The first process's bytes, on every process (their length need not be known).
    void broadcast(std::vector<std::byte>& bytes) const {
        std::uint64_t length = bytes.size();
        broadcast(std::span<std::uint64_t>(&length, 1));
        bytes.resize(static_cast<std::size_t>(length));
        broadcast(std::span<std::byte>(bytes));
    }

    // Every process's text, in order of rank, on the first process (empty elsewhere).
    std::vector<std::string> gather(const std::string& text) const {
        const std::uint64_t length = text.size();
        std::vector<std::uint64_t> lengths(is_root() ? size() : 0);
        detail::check(
            MPI_Gather(&length, 1, MPI_UINT64_T, lengths.data(), 1, MPI_UINT64_T, 0, comm_),
            "MPI_Gather");
        std::vector<std::string> texts;
        if (!is_root()) {
            detail::check(
                MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, 0, 0, comm_),
                "MPI_Send");
            return texts;
        }
        texts.push_back(text);
        for (std::size_t from = 1; from < size(); ++from) {
            std::string received(static_cast<std::size_t>(lengths[from]), '\0');
            detail::check(MPI_Recv(received.data(), static_cast<int>(received.size()), MPI_CHAR,
                                   static_cast<int>(from), 0, comm_, MPI_STATUS_IGNORE),
                          "MPI_Recv");
            texts.push_back(std::move(received));
        }
        return texts;
    }

    // Waits until every process is here.
    void barrier() const { detail::check(MPI_Barrier(comm_), "MPI_Barrier"); }

private:
    MPI_Comm comm_ = MPI_COMM_NULL;
    int rank_ = 0;
    int size_ = 1;
};

// Whether this program was started by an MPI launcher (mpirun, srun): the
// variables Open MPI, PMIx and MPICH's Hydra give each process.
inline bool launched_by_mpi() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
        if (std::getenv(name) != nullptr) return true;
    return false;
}

} // namespace kiln::distributed
