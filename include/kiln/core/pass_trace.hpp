#pragma once
// A timestamped record of the thread pool's passes: when each pass began and
// ended on the calling thread, and when each part began and ended on the thread
// that ran it. It shows where the time of a split pass goes (bench/pass_trace).
// Compiled in only where KILN_TRACE_PASSES is defined; elsewhere record() is
// empty and costs nothing.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <ctime>

namespace kiln::pass_trace {

enum class kind : std::uint8_t { pass_begin, part_begin, part_end, pass_end };

struct event {
    std::uint64_t nanoseconds;
    std::uint32_t pass;   // numbered from 0 in the order the passes began
    std::uint16_t thread; // 0 = the caller
    kind what;
    std::uint8_t part; // the part, or for pass_begin the number of parts
    const char* name;  // for pass_begin, the mangled type of the pass's callable
};

#ifdef KILN_TRACE_PASSES
inline constexpr bool enabled = true;

struct log {
    static constexpr std::size_t capacity = std::size_t{1} << 20;
    event events[capacity];
    std::atomic<std::size_t> count{0};
    std::atomic<std::uint32_t> passes{0};
};
inline log& the_log() {
    static log recorded;
    return recorded;
}

inline void record(kind what, std::size_t thread, std::size_t part,
                   const char* name = nullptr) noexcept {
    log& recorded = the_log();
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    const std::uint32_t pass = what == kind::pass_begin
                                   ? recorded.passes.fetch_add(1, std::memory_order_relaxed)
                                   : recorded.passes.load(std::memory_order_relaxed) - 1;
    const std::size_t at = recorded.count.fetch_add(1, std::memory_order_relaxed);
    if (at >= log::capacity) return;
    recorded.events[at] = {static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u +
                               static_cast<std::uint64_t>(now.tv_nsec),
                           pass,
                           static_cast<std::uint16_t>(thread),
                           what,
                           static_cast<std::uint8_t>(part),
                           name};
}
inline void clear() noexcept {
    the_log().count.store(0);
    the_log().passes.store(0);
}
#else
inline constexpr bool enabled = false;
inline void record(kind, std::size_t, std::size_t, const char* = nullptr) noexcept {}
#endif

} // namespace kiln::pass_trace
