#pragma once
// kiln::regular_file: a file opened for reading only once it is known to be a
// regular file. A FIFO handed over as a data file would block the reader (or
// stream forever), a device never end, a directory read as nothing: each is
// refused before a byte is read, in words ("is a FIFO (named pipe), not a
// regular file", or not what the reader names: "not a checkpoint file"), as are a missing file ("no
// such file") and one the user may not read ("permission denied"), which are not the same problem.
//
//   auto file = kiln::open_regular_file<kiln::data::data_error>(path);
//   std::size_t got = file.read(buffer, size);   // fewer bytes only at the end
//   kiln::open_regular_file<kiln::checkpoint_error>(path, "a checkpoint file");
//
// Every reader of user files opens them through here (IDX, text, checkpoints).
// The check is made on the opened descriptor (fstat), so nothing can swap the
// file between the check and the read.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace kiln {

// What an errno from open or stat means to the person who named the file.
[[gnu::cold]] inline std::string file_problem_text(int error) {
    switch (error) {
    case ENOENT:
        return "no such file";
    case EACCES:
    case EPERM:
        return "permission denied";
    case ENOTDIR:
        return "no such file (a part of its path is not a folder)";
    case ELOOP:
        return "too many levels of symbolic links";
    case ENAMETOOLONG:
        return "the name is too long";
    default:
        return std::generic_category().message(error);
    }
}

// "is a FIFO (named pipe), not a regular file", for what a stat mode says.
[[gnu::cold]] inline std::string not_regular_text(mode_t mode,
                                                  std::string_view what = "a regular file") {
    const char* kind = S_ISDIR(mode)    ? "is a directory"
                       : S_ISFIFO(mode) ? "is a FIFO (named pipe)"
                       : S_ISCHR(mode)  ? "is a character device"
                       : S_ISBLK(mode)  ? "is a block device"
                       : S_ISSOCK(mode) ? "is a socket"
                                        : "is a special file";
    return std::string(kind) + ", not " + std::string(what);
}

class regular_file {
public:
    // Opens `path` for reading, or records why it cannot (problem()). The open
    // does not block: a FIFO without a writer would otherwise hang it.
    [[gnu::cold]] explicit regular_file(const std::filesystem::path& path,
                                        std::string_view what = "a regular file") {
        fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd_ < 0) {
            error_ = errno;
            problem_ = file_problem_text(error_);
            return;
        }
        struct stat status {};
        if (::fstat(fd_, &status) != 0) {
            error_ = errno;
            problem_ = file_problem_text(error_);
            close();
            return;
        }
        if (!S_ISREG(status.st_mode)) {
            problem_ = not_regular_text(status.st_mode, what);
            close();
            return;
        }
        size_ = static_cast<std::uint64_t>(status.st_size);
        // Reads of a regular file ignore O_NONBLOCK; cleared all the same.
        if (const int flags = ::fcntl(fd_, F_GETFL); flags >= 0)
            (void)::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
    }
    regular_file(regular_file&& other) noexcept
        : fd_(std::exchange(other.fd_, -1)), size_(other.size_), error_(other.error_),
          problem_(std::move(other.problem_)) {}
    regular_file& operator=(regular_file&& other) noexcept {
        if (this != &other) {
            close();
            fd_ = std::exchange(other.fd_, -1);
            size_ = other.size_;
            error_ = other.error_;
            problem_ = std::move(other.problem_);
        }
        return *this;
    }
    regular_file(const regular_file&) = delete;
    regular_file& operator=(const regular_file&) = delete;
    ~regular_file() { close(); }

    bool is_open() const noexcept { return fd_ >= 0; }
    // Why the file is not open ("no such file", "permission denied", ...).
    const std::string& problem() const noexcept { return problem_; }
    // The errno behind problem(): ENOENT, EACCES, ...; 0 for a file that opened,
    // or one that is not a regular file.
    int error_number() const noexcept { return error_; }
    int descriptor() const noexcept { return fd_; }
    // Its size in bytes when it was opened.
    std::uint64_t size() const noexcept { return size_; }

    // Reads up to `count` bytes, fewer only at the end of the file; a read error
    // throws std::system_error.
    [[gnu::cold]] std::size_t read(void* out, std::size_t count) {
        auto* bytes = static_cast<unsigned char*>(out);
        std::size_t got = 0;
        while (got < count) {
            const ::ssize_t n = ::read(fd_, bytes + got, count - got);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw std::system_error(errno, std::generic_category(), "read error");
            if (n == 0) break;
            got += static_cast<std::size_t>(n);
        }
        return got;
    }

private:
    void close() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    int fd_ = -1;
    std::uint64_t size_ = 0;
    int error_ = 0;
    std::string problem_;
};

// Opens `path` for reading as a regular_file; a problem throws Error(path,
// problem), so that each reader reports it with its own exception
// (kiln::data::data_error, kiln::checkpoint_error).
template <class Error>
[[gnu::cold]] regular_file open_regular_file(const std::filesystem::path& path,
                                             std::string_view what = "a regular file") {
    regular_file file(path, what);
    if (!file.is_open()) throw Error(path, file.problem());
    return file;
}

// The same check for a reader that opens the file by other means afterwards.
template <class Error>
[[gnu::cold]] void require_regular_file(const std::filesystem::path& path,
                                        std::string_view what = "a regular file") {
    (void)open_regular_file<Error>(path, what);
}

} // namespace kiln
