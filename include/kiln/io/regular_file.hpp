#pragma once
// kiln::open_regular_file: opens a file for reading only if it is a regular file,
// before a byte of it is read. A FIFO would block the reader forever (or feed it
// whatever someone writes), a device may never end (/dev/zero), a folder holds no
// bytes: each is refused with one line that says what the path names. The check
// is made on the opened descriptor (fstat), so nothing can swap the file between
// the check and the read; O_NONBLOCK lets the open of a FIFO return at once, and
// is cleared once the file is known to be regular.
//
//   auto file = kiln::open_regular_file<kiln::checkpoint_error>(path, "a checkpoint file");
//   kiln::require_regular_file<kiln::data::data_error>(path, "an IDX file");  // check only
//
// Error is the reader's own exception, constructed from (path, problem):
// "run.kiln: is a FIFO (named pipe), not a checkpoint file".
#include "kiln/io/file_descriptor.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace kiln {

namespace detail {
[[gnu::cold]] inline std::string file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "something other than a regular file";
}

[[gnu::cold]] inline std::string open_problem(int error) {
    switch (error) {
    case ENOENT:
        return "no such file";
    case EACCES:
    case EPERM:
        return "permission denied";
    default:
        return "cannot open: " + std::generic_category().message(error);
    }
}
} // namespace detail

template <class Error>
[[gnu::cold]] file_descriptor open_regular_file(const std::filesystem::path& path,
                                                std::string_view what) {
    file_descriptor file(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!file.is_open()) throw Error(path, detail::open_problem(errno));
    struct stat info {};
    if (::fstat(file.get(), &info) != 0)
        throw Error(path, "cannot read its status: " + std::generic_category().message(errno));
    if (!S_ISREG(info.st_mode))
        throw Error(path, "is " + detail::file_kind(info.st_mode) + ", not " + std::string(what));
    const int flags = ::fcntl(file.get(), F_GETFL);
    if (flags < 0 || ::fcntl(file.get(), F_SETFL, flags & ~O_NONBLOCK) != 0)
        throw Error(path, "cannot open: " + std::generic_category().message(errno));
    return file;
}

template <class Error>
[[gnu::cold]] void require_regular_file(const std::filesystem::path& path, std::string_view what) {
    (void)open_regular_file<Error>(path, what);
}

} // namespace kiln
