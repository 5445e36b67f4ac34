#pragma once
// kiln::file_descriptor: a POSIX file descriptor that is closed once, on every
// path out of the scope that owns it. The file readers and writers of kiln/io
// open files through it (io/atomic_file.hpp).
#include <unistd.h>

#include <string>
#include <system_error>
#include <utility>

namespace kiln {

class file_descriptor {
public:
    file_descriptor() = default;
    explicit file_descriptor(int descriptor) noexcept : fd_(descriptor) {}
    file_descriptor(file_descriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    file_descriptor& operator=(file_descriptor&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    ~file_descriptor() { reset(); }

    int get() const noexcept { return fd_; }
    bool is_open() const noexcept { return fd_ >= 0; }

    // Closes now, returning close's result: on some file systems close is where a
    // failed write shows.
    int close() noexcept {
        const int result = ::close(fd_);
        fd_ = -1;
        return result;
    }

private:
    void reset() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    int fd_ = -1;
};

namespace detail {
[[noreturn, gnu::cold]] inline void throw_errno(int error, const std::string& what) {
    throw std::system_error(error, std::generic_category(), what);
}
} // namespace detail

} // namespace kiln
