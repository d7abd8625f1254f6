#include "core/report_file.hpp"

#include "support/errors.hpp"
#include "support/paths.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>

namespace vmm {
namespace {

// Set once by the constructor, before the VM runs, then only read: the
// fatal-signal path may use them.
char g_file[PATH_MAX];
char g_temporary[PATH_MAX];
volatile sig_atomic_t g_ready = 0;

bool write_all(int fd, const char *text, std::size_t size) noexcept
{
    while (size > 0) {
        const ssize_t n = ::write(fd, text, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        text += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

// Writes the temporary file and renames it over the report; false (errno
// set) on failure, with the temporary file gone.
bool write_and_rename(const char *temporary, const char *file, const char *text, std::size_t size) noexcept
{
    const int fd = ::open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return false;
    bool ok = write_all(fd, text, size);
    int saved = errno;
    if (::close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && ::rename(temporary, file) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        ::unlink(temporary);
        errno = saved;
    }
    return ok;
}

} // namespace

ReportFile::ReportFile(std::filesystem::path file) : file_(std::move(file))
{
    if (auto kind = paths::non_regular_kind(file_))
        throw InputError(fmt::format("the report {} is {}, not a regular file", file_.string(), *kind));
    // A name of our own beside FILE: rename() is atomic only within one
    // file system.
    temporary_ = file_;
    temporary_ += fmt::format(".{}.tmp", ::getpid());
    if (file_.string().size() >= sizeof g_file || temporary_.string().size() >= sizeof g_temporary)
        throw InputError(fmt::format("the report {} has too long a path", file_.string()));
    // Can the directory take the temporary file? Found now, before the
    // guest runs, rather than after it.
    const int fd = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        throw InputError(errno_message("cannot write the report " + file_.string(), errno));
    ::close(fd);
    ::unlink(temporary_.c_str());
    if (::unlink(file_.c_str()) != 0 && errno != ENOENT)
        throw InputError(errno_message("cannot remove the previous report " + file_.string(), errno));
    std::memcpy(g_file, file_.c_str(), file_.string().size() + 1);
    std::memcpy(g_temporary, temporary_.c_str(), temporary_.string().size() + 1);
    g_ready = 1;
}

void ReportFile::write(const std::string &json) const
{
    if (!write_and_rename(temporary_.c_str(), file_.c_str(), json.data(), json.size()))
        throw SystemError(errno_message("cannot write the report " + file_.string(), errno));
}

void ReportFile::write_now(const char *text, std::size_t size) noexcept
{
    if (!g_ready)
        return;
    const int saved = errno;
    (void)write_and_rename(g_temporary, g_file, text, size);
    errno = saved;
}

} // namespace vmm
