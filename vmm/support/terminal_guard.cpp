#include "support/terminal_guard.hpp"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

namespace vmm {
namespace {

// Written once before any thread or handler exists, then only read: a
// signal handler may read them.
termios g_saved{};
volatile sig_atomic_t g_have_saved = 0;

constexpr int kCrashSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

extern "C" void restore_and_reraise(int signo)
{
    TerminalGuard::restore_now();
    // Back to the default action, then let the signal do what it would
    // have done (a core dump, the shell's "Segmentation fault").
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(signo, &dfl, nullptr);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    ::raise(signo);
}

} // namespace

TerminalGuard::TerminalGuard()
{
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &g_saved) != 0)
        return;
    g_have_saved = 1;
    struct sigaction action {};
    action.sa_handler = restore_and_reraise;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND | SA_NODEFER;
    for (int signo : kCrashSignals)
        ::sigaction(signo, &action, nullptr);
}

TerminalGuard::~TerminalGuard() { restore_now(); }

void TerminalGuard::restore_now() noexcept
{
    if (!g_have_saved)
        return;
    const int saved_errno = errno;
    // TCSANOW: TCSADRAIN would wait for a stopped terminal to take output.
    ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
    errno = saved_errno;
}

} // namespace vmm
