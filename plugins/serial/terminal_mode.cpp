#include "terminal_mode.hpp"

#include <cerrno>
#include <unistd.h>

namespace uart {

bool TerminalMode::enter(int fd)
{
    termios raw{};
    if (::tcgetattr(fd, &saved_) != 0)
        return false;
    raw = saved_;
    // As QEMU's stdio chardev does: no input translation or flow control,
    // no echo, no line editing, no signals from keys; 8-bit characters;
    // output post-processing (ONLCR) kept.
    raw.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    raw.c_oflag |= OPOST;
    raw.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN | ISIG);
    raw.c_cflag &= ~(CSIZE | PARENB);
    raw.c_cflag |= CS8;
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (::tcsetattr(fd, TCSANOW, &raw) != 0)
        return false;
    fd_ = fd;
    active_ = true;
    return true;
}

void TerminalMode::restore() noexcept
{
    if (!active_)
        return;
    const int saved_errno = errno;
    // TCSADRAIN would wait for the terminal to take pending output: a
    // stopped terminal would hold us here. Restore at once.
    ::tcsetattr(fd_, TCSANOW, &saved_);
    errno = saved_errno;
    active_ = false;
}

} // namespace uart
