// Gives the user's terminal back as it was, whatever way vmm ends.
//
// A device may put the terminal on stdin in raw mode (the serial plugins
// do, for input_from = "stdin"). Plugins restore it when destroyed, but a
// crash, an error before destruction or an _exit never destroys them, and
// a shell left without echo is the user's problem then. So the core saves
// stdin's attributes at start (when stdin is a terminal) and restores them:
//  - when the guard goes out of scope (every normal return from main);
//  - from restore_now(), for paths that _exit (a second SIGINT/SIGTERM)
//    and for the fatal-signal handler (core/fatal_signal.hpp: SIGSEGV,
//    SIGBUS, SIGILL, SIGFPE, SIGABRT), which calls it first; tcsetattr is
//    async-signal-safe.
#pragma once

namespace vmm {

class TerminalGuard {
public:
    TerminalGuard();
    ~TerminalGuard();
    TerminalGuard(const TerminalGuard &) = delete;
    TerminalGuard &operator=(const TerminalGuard &) = delete;

    // Restores the saved attributes, if any. Async-signal-safe.
    static void restore_now() noexcept;
};

} // namespace vmm
