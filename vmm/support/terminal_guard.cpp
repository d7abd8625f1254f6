#include "support/terminal_guard.hpp"

#include <csignal>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

namespace vmm {
namespace {

// Written once before any thread or handler exists, then only read: a
// signal handler may read them.
termios g_saved{};
volatile sig_atomic_t g_have_saved = 0;

} // namespace

TerminalGuard::TerminalGuard()
{
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &g_saved) != 0)
        return;
    g_have_saved = 1;
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
