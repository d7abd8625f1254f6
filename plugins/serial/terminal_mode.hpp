// Raw mode on the terminal behind stdin, while the UART reads it: keys go
// to the guest one by one, unechoed, and Ctrl-C reaches the guest instead
// of killing the VMM (the escape keys, escape_keys.hpp, are the way out).
// Output post-processing stays on, so the guest's "\n" still starts a new
// line. The attributes are restored when this object goes away; the VMM
// core also restores them on every way out, even a crash
// (vmm/support/terminal_guard.hpp), since a plugin cannot.
#pragma once

#include <termios.h>

namespace uart {

class TerminalMode {
public:
    TerminalMode() = default;
    ~TerminalMode() { restore(); }
    TerminalMode(const TerminalMode &) = delete;
    TerminalMode &operator=(const TerminalMode &) = delete;

    // Puts `fd` (a terminal) in raw mode. False (errno set) if it cannot.
    bool enter(int fd);
    void restore() noexcept;
    bool active() const noexcept { return active_; }

private:
    int fd_ = -1;
    termios saved_{};
    bool active_ = false;
};

} // namespace uart
