#include "support/stderr_writer.hpp"

#include <vmm/sdk/output_fd.hpp>

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace vmm {
namespace {

// Set once before any thread exists, then only read (also by signal
// handlers); never closed, so no write can race a close at exit.
int g_fd = -1;
sdk::OutputFd::Mode g_mode = sdk::OutputFd::Mode::poll_first;

ssize_t write_some(const char *text, std::size_t size) noexcept
{
    const int fd = g_fd >= 0 ? g_fd : STDERR_FILENO;
    switch (g_fd >= 0 ? g_mode : sdk::OutputFd::Mode::poll_first) {
    case sdk::OutputFd::Mode::send: return ::send(fd, text, size, MSG_DONTWAIT | MSG_NOSIGNAL);
    case sdk::OutputFd::Mode::poll_first: {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, 0) != 1 || (p.revents & POLLOUT) == 0) {
            errno = EAGAIN;
            return -1;
        }
        // With room for PIPE_BUF bytes, a pipe takes that many at once.
        return ::write(fd, text, size > PIPE_BUF ? PIPE_BUF : size);
    }
    case sdk::OutputFd::Mode::write:
    case sdk::OutputFd::Mode::nonblocking: break;
    }
    return ::write(fd, text, size);
}

} // namespace

void init_stderr_writer()
{
    try {
        sdk::OutputFd copy(STDERR_FILENO);
        g_mode = copy.mode();
        g_fd = ::fcntl(copy.get(), F_DUPFD_CLOEXEC, 3); // ours for good; `copy` closes its own
    } catch (const std::exception &) {
        g_fd = -1; // poll before each write instead
    }
}

std::size_t write_stderr(const char *text, std::size_t size) noexcept
{
    const int saved = errno;
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = write_some(text + done, size - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break; // full (EAGAIN), or an error nobody could be told about
    }
    errno = saved;
    return done;
}

} // namespace vmm
