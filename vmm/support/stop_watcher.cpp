#include "support/stop_watcher.hpp"

#include "support/errors.hpp"
#include "support/stderr_writer.hpp"
#include "support/terminal_guard.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vmm {
namespace {

sigset_t stop_signals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

} // namespace

void block_stop_signals()
{
    const sigset_t set = stop_signals();
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void unblock_stop_signals()
{
    const sigset_t set = stop_signals();
    ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

StopWatcher::StopWatcher(Handler handler, std::optional<std::chrono::milliseconds> timeout, BeforeExit before_exit)
    : handler_(std::move(handler)), before_exit_(std::move(before_exit))
{
    const sigset_t set = stop_signals();
    signals_.reset(::signalfd(-1, &set, SFD_CLOEXEC));
    wake_.reset(::eventfd(0, EFD_CLOEXEC));
    if (!signals_.valid() || !wake_.valid())
        throw SystemError(errno_message("signalfd/eventfd", errno));
    if (timeout) {
        timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
        if (!timer_.valid())
            throw SystemError(errno_message("timerfd_create", errno));
        itimerspec when{};
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*timeout).count();
        when.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
        when.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
        if (when.it_value.tv_sec == 0 && when.it_value.tv_nsec == 0)
            when.it_value.tv_nsec = 1; // zero would disarm the timer
        if (::timerfd_settime(timer_.get(), 0, &when, nullptr) != 0)
            throw SystemError(errno_message("timerfd_settime", errno));
    }
    thread_ = std::thread([this] { watch(); });
}

StopWatcher::~StopWatcher()
{
    const uint64_t one = 1;
    if (::write(wake_.get(), &one, sizeof one) < 0)
        std::perror("vmm: waking the signal watcher");
    if (thread_.joinable())
        thread_.join();
}

void StopWatcher::watch()
{
    // When the first stop began. A supervisor may deliver one request
    // twice (GNU timeout signals the child, then its process group), so
    // only a signal later than the grace period means "the stop is stuck".
    std::optional<std::chrono::steady_clock::time_point> stopping;
    for (;;) {
        pollfd fds[3] = {{wake_.get(), POLLIN, 0}, {signals_.get(), POLLIN, 0}, {timer_.get(), POLLIN, 0}};
        if (::poll(fds, timer_.valid() ? 3 : 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            // Only ENOMEM is possible here. Say so: from now on SIGINT and
            // SIGTERM (blocked in every thread) no longer stop the VM.
            std::perror("vmm: cannot watch for SIGINT, SIGTERM and --timeout any more: poll");
            return;
        }
        if (fds[0].revents != 0)
            return;
        if (fds[1].revents & POLLIN) {
            signalfd_siginfo info{};
            if (::read(signals_.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info))
                continue;
            const int signo = static_cast<int>(info.ssi_signo);
            if (stopping && std::chrono::steady_clock::now() - *stopping < kGracePeriod) {
                const char message[] = "vmm: signal again while stopping (within a second of the first): still "
                                       "stopping; one more a second later exits at once\n";
                write_stderr(message, sizeof message - 1);
                continue;
            }
            if (stopping) {
                // The clean stop is stuck (a device that never returns?).
                const char message[] = "vmm: second signal while stopping: exiting now\n";
                write_stderr(message, sizeof message - 1); // a stalled stderr must not stop the exit
                if (before_exit_)
                    before_exit_(signo);
                TerminalGuard::restore_now(); // _exit skips the guard in main
                ::_exit(128 + signo);
            }
            stopping = std::chrono::steady_clock::now();
            handler_(signo == SIGINT ? Reason::sigint : Reason::sigterm);
        }
        if (timer_.valid() && (fds[2].revents & POLLIN)) {
            uint64_t expirations = 0;
            if (::read(timer_.get(), &expirations, sizeof expirations) == static_cast<ssize_t>(sizeof expirations)) {
                if (!stopping)
                    stopping = std::chrono::steady_clock::now();
                handler_(Reason::timeout);
            }
        }
    }
}

} // namespace vmm
