#pragma once
// kiln::write_file_atomically: replaces a file with new contents so that, whatever
// happens meanwhile (an error, a full disk, a crash, a power cut), the file holds
// either its old contents or the new ones, never a mix, and so that nothing
// planted in the folder can redirect the bytes elsewhere. Every file kiln and its
// programs write (checkpoints, results) goes through it.
//
// The bytes go to a temporary file in the same folder (rename is atomic only
// within one file system), created exclusively (O_CREAT | O_EXCL | O_NOFOLLOW: never
// an existing file, never through a symbolic link) under a name nobody can know in
// advance (the pid and 64 random bits); it is flushed to disk (fsync) and renamed
// over the target, which replaces a symbolic link there rather than writing where
// it points; then the folder is flushed, so that the rename survives a power cut.
//
// A crash can leave the temporary file behind (".<name>.tmp-<pid>-<random>"); it is
// never read, and the next save makes a new one. Any other failure removes it.
#include "kiln/io/file_descriptor.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>

namespace kiln {

namespace detail {

// A file created exclusively beside a target: its folder, its name, its descriptor.
struct temporary_file {
    std::filesystem::path folder, path;
    file_descriptor file;
};

[[gnu::cold]] inline std::uint64_t unguessable_bits() {
    std::uint64_t bits = 0;
    if (::getrandom(&bits, sizeof bits, GRND_NONBLOCK) != sizeof bits) {
        // No entropy yet (early boot): the clock. O_EXCL keeps the file safe anyway;
        // the randomness only spares a save from names planted in advance.
        bits = static_cast<std::uint64_t>(
            std::chrono::high_resolution_clock::now().time_since_epoch().count());
    }
    return bits;
}

// The folder `path` is in, and refuses a path that names a folder.
[[gnu::cold]] inline std::filesystem::path folder_of(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!path.has_filename() || fs::is_directory(path, ec))
        throw std::system_error(std::make_error_code(std::errc::is_a_directory),
                                "cannot write " + path.string() + ", which names a folder");
    return path.has_parent_path() ? path.parent_path() : fs::path(".");
}

// Throws std::system_error naming the folder when it cannot hold a new file.
[[gnu::cold]] inline temporary_file create_temporary_beside(const std::filesystem::path& path) {
    temporary_file temporary{folder_of(path), {}, {}};
    const std::filesystem::path& folder = temporary.folder;
    // The rename at the end would fail on a name the folder cannot hold: say so now.
    const long longest = ::pathconf(folder.c_str(), _PC_NAME_MAX);
    if (longest > 0 && path.filename().string().size() > static_cast<std::size_t>(longest))
        throw_errno(ENAMETOOLONG, "cannot write " + path.string());
    // A long target name must not make the temporary name too long for the folder.
    const std::string stem = path.filename().string().substr(0, 160);
    static std::atomic<unsigned> serial{0};
    for (int attempt = 0; !temporary.file.is_open(); ++attempt) {
        char suffix[64];
        std::snprintf(suffix, sizeof suffix, ".tmp-%ld-%u%016llx", static_cast<long>(::getpid()),
                      serial++, static_cast<unsigned long long>(unguessable_bits()));
        temporary.path = folder / ("." + stem + suffix);
        temporary.file = file_descriptor(::open(
            temporary.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
        if (!temporary.file.is_open() && (errno != EEXIST || attempt > 100))
            throw_errno(errno, "cannot create a file in " + folder.string());
    }
    return temporary;
}

} // namespace detail

// Throws std::system_error (one line: what failed, where, and why: "Permission
// denied", "Read-only file system", "No space left on device") when
// write_file_atomically(path, ...) could not begin: `path` names a folder, or its
// folder cannot take a new file. It creates and removes a temporary file there,
// exactly as a save does, so that a program can check where its results go before
// it works for hours.
[[gnu::cold]] inline void require_writable(const std::filesystem::path& path) {
    auto temporary = detail::create_temporary_beside(path);
    temporary.file.close();
    ::unlink(temporary.path.c_str());
}

// Throws std::system_error naming the step and the file that failed; the target
// is then untouched and no temporary file is left.
[[gnu::cold]] inline void write_file_atomically(const std::filesystem::path& path,
                                                std::span<const std::byte> contents) {
    detail::temporary_file created = detail::create_temporary_beside(path);
    const std::filesystem::path& temporary = created.path;
    file_descriptor& file = created.file;

    // From here on a failure removes the temporary file before it reports.
    auto fail = [&](const std::string& step) {
        const int error = errno;
        if (file.is_open()) file.close();
        ::unlink(temporary.c_str());
        detail::throw_errno(error, step);
    };

    const auto* bytes = reinterpret_cast<const char*>(contents.data());
    std::size_t written = 0;
    while (written < contents.size()) {
        const ::ssize_t n = ::write(file.get(), bytes + written, contents.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO;
            fail("cannot write " + temporary.string() + " (after " + std::to_string(written) +
                 " of " + std::to_string(contents.size()) + " bytes)");
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(file.get()) != 0) fail("cannot flush " + temporary.string() + " to disk");
    if (file.close() != 0) fail("cannot close " + temporary.string());
    if (::rename(temporary.c_str(), path.c_str()) != 0)
        fail("cannot rename " + temporary.string() + " to " + path.string());

    // The rename is in the folder's entries: flush them too. Some file systems
    // refuse fsync on a folder; the data is safe by then, so that is not an error.
    const file_descriptor directory(
        ::open(created.folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (directory.is_open()) (void)::fsync(directory.get());
}

} // namespace kiln
