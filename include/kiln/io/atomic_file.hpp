#pragma once
// kiln::write_file_atomically: replaces a file with new contents so that, whatever
// happens meanwhile (an error, a full disk, a crash, a power cut), the file holds
// either its old contents or the new ones, never a mix. The bytes go to a
// temporary file in the same folder (rename is atomic only within one file
// system), which is flushed to disk (fsync) before it is renamed over the target;
// then the folder is flushed, so that the rename itself survives a power cut.
//
// A crash can leave the temporary file behind (".<name>.tmp-<pid>-<n>"); it is
// never read, and the next save makes a new one.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>

namespace kiln {

namespace detail {

// Closes a descriptor once, on every path out of a scope.
struct file_descriptor {
    int fd = -1;
    file_descriptor() = default;
    explicit file_descriptor(int descriptor) : fd(descriptor) {}
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    ~file_descriptor() {
        if (fd >= 0) ::close(fd);
    }
    // Closes now, reporting the error: on some file systems close is where a
    // failed write shows.
    int close() {
        const int result = ::close(fd);
        fd = -1;
        return result;
    }
};

[[noreturn]] inline void throw_errno(int error, const std::string& what) {
    throw std::system_error(error, std::generic_category(), what);
}

} // namespace detail

// Throws std::system_error naming the step and the file that failed; the target
// is then untouched and no temporary file is left.
[[gnu::cold]] inline void write_file_atomically(const std::filesystem::path& path,
                                                std::span<const std::byte> contents) {
    namespace fs = std::filesystem;
    if (!path.has_filename())
        throw std::system_error(std::make_error_code(std::errc::is_a_directory),
                                "cannot write " + path.string() + ", which names a folder");
    const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");

    // A fresh name: the pid tells processes apart, the counter calls in one process.
    static std::atomic<unsigned> serial{0};
    fs::path temporary;
    detail::file_descriptor file;
    for (int attempt = 0; file.fd < 0; ++attempt) {
        temporary = folder / ("." + path.filename().string() + ".tmp-" +
                              std::to_string(::getpid()) + "-" + std::to_string(serial++));
        file.fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (file.fd < 0 && (errno != EEXIST || attempt > 100))
            detail::throw_errno(errno, "cannot create a temporary file in " + folder.string());
    }

    // From here on a failure removes the temporary file before it reports.
    auto fail = [&](const std::string& step) {
        const int error = errno;
        if (file.fd >= 0) file.close();
        ::unlink(temporary.c_str());
        detail::throw_errno(error, step);
    };

    const auto* bytes = reinterpret_cast<const char*>(contents.data());
    std::size_t written = 0;
    while (written < contents.size()) {
        const ::ssize_t n = ::write(file.fd, bytes + written, contents.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO;
            fail("cannot write " + temporary.string() + " (after " + std::to_string(written) +
                 " of " + std::to_string(contents.size()) + " bytes)");
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(file.fd) != 0) fail("cannot flush " + temporary.string() + " to disk");
    if (file.close() != 0) fail("cannot close " + temporary.string());
    if (::rename(temporary.c_str(), path.c_str()) != 0)
        fail("cannot rename " + temporary.string() + " to " + path.string());

    // The rename is in the folder's entries: flush them too. Some file systems
    // refuse fsync on a folder; the data is safe by then, so that is not an error.
    detail::file_descriptor directory(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (directory.fd >= 0) (void)::fsync(directory.fd);
}

} // namespace kiln
