#include "core/report_file.hpp"

#include "support/errors.hpp"
#include "support/paths.hpp"
#include "support/signal_safe_text.hpp"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>

namespace vmm {
namespace {

// Set once by the constructor, before the VM runs, then only read: the
// fatal-signal path may use them.
char g_file[PATH_MAX];
// A minimal report's own temporary file: one written while the whole
// report is being written must not write into the same file.
char g_minimal_temporary[PATH_MAX];
volatile sig_atomic_t g_ready = 0;

// A minimal report's first lines (set_machine), and the status of the
// whole report once written (-1: none yet).
char g_head[8192];
std::atomic<bool> g_have_head{false};
std::atomic<int> g_written_status{-1};
char g_minimal[sizeof g_head + 8192];

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
    const std::string minimal_temporary = file_.string() + fmt::format(".{}.minimal.tmp", ::getpid());
    if (file_.string().size() >= sizeof g_file || minimal_temporary.size() >= sizeof g_minimal_temporary)
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
    std::memcpy(g_minimal_temporary, minimal_temporary.c_str(), minimal_temporary.size() + 1);
    g_ready = 1;
}

void ReportFile::write(const std::string &json) const
{
    if (!write_and_rename(temporary_.c_str(), file_.c_str(), json.data(), json.size()))
        throw SystemError(errno_message("cannot write the report " + file_.string(), errno));
    try {
        g_written_status = nlohmann::json::parse(json).at("exit_status").get<int>();
    } catch (const std::exception &) {
        g_written_status = -2; // written, status unknown: a minimal report replaces it
    }
}

void ReportFile::set_machine(const std::string &machine, const std::string &file)
{
    // The same keys, in the same order, as a whole report starts with.
    const nlohmann::ordered_json head{{"machine", machine}, {"file", file}};
    std::string text = head.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    text.pop_back(); // the closing brace
    while (!text.empty() && text.back() == '\n')
        text.pop_back();
    text += ",\n";
    if (text.size() >= sizeof g_head)
        return;
    std::memcpy(g_head, text.c_str(), text.size() + 1);
    g_have_head.store(true, std::memory_order_release);
}

void ReportFile::write_minimal_now(int exit_status, const char *cause, const char *reason) noexcept
{
    if (!g_ready || !g_have_head.load(std::memory_order_acquire) || g_written_status.load() == exit_status)
        return;
    // One writer of the static buffer: a crash racing a forced exit leaves
    // the first one's report.
    static std::atomic<bool> busy{false};
    if (busy.exchange(true))
        return;
    const int saved = errno;
    SignalSafeText report(g_minimal, sizeof g_minimal);
    report.text(g_head).text("  \"exit_status\": ").number(exit_status).text(",\n");
    report.text("  \"stop\": {\n    \"cause\": \"").json(cause).text("\",\n    \"reason\": \"").json(reason);
    report.text("\"\n  }\n}\n");
    (void)write_and_rename(g_minimal_temporary, g_file, report.c_str(), report.size());
    errno = saved;
}

} // namespace vmm
