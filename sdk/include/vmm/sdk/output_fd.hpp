// A descriptor to write to without ever blocking, made from one the caller
// keeps (see <vmm/sdk/output.hpp> for why and how it is used).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>

namespace vmm::sdk {

class OutputFd {
public:
    enum class Mode {
        write,      // a regular file: write(2) does not wait for anyone
        send,       // a socket: send(MSG_DONTWAIT | MSG_NOSIGNAL)
        nonblocking, // our own O_NONBLOCK open file description
        poll_first, // reopening failed: write at most PIPE_BUF after poll says so
    };

    OutputFd() = default;
    // Throws std::system_error when `fd` cannot be examined or copied.
    explicit OutputFd(int fd)
    {
        struct stat st {};
        if (::fstat(fd, &st) != 0)
            throw std::system_error(errno, std::generic_category(), "fstat");
        if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
            mode_ = Mode::write;
            fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
        } else if (S_ISSOCK(st.st_mode)) {
            // A dup shares the socket: MSG_DONTWAIT makes this call alone
            // non-blocking, MSG_NOSIGNAL turns a gone peer into EPIPE.
            mode_ = Mode::send;
            fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
        } else {
            // A pipe, FIFO or terminal: a new open file description of the
            // same object, so O_NONBLOCK stays ours (fcntl(F_SETFL) on the
            // inherited one would also change it for the shell sharing it).
            const std::string proc = "/proc/self/fd/" + std::to_string(fd);
            mode_ = Mode::nonblocking;
            fd_ = ::open(proc.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
            if (fd_ < 0) {
                // No /proc, or a pipe another user made: poll before writing.
                mode_ = Mode::poll_first;
                fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
            }
        }
        if (fd_ < 0)
            throw std::system_error(errno, std::generic_category(), "duplicating the output descriptor");
    }
    ~OutputFd() { reset(); }
    OutputFd(OutputFd &&other) noexcept { *this = std::move(other); }
    OutputFd &operator=(OutputFd &&other) noexcept
    {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
            mode_ = other.mode_;
        }
        return *this;
    }
    OutputFd(const OutputFd &) = delete;
    OutputFd &operator=(const OutputFd &) = delete;

    bool valid() const noexcept { return fd_ >= 0; }
    int get() const noexcept { return fd_; }
    Mode mode() const noexcept { return mode_; }

    // Like write(2), but -1 with EAGAIN where it would block.
    ssize_t write_some(const void *data, std::size_t size) const
    {
        switch (mode_) {
        case Mode::send: return ::send(fd_, data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
        case Mode::poll_first: {
            pollfd p{fd_, POLLOUT, 0};
            const int ready = ::poll(&p, 1, 0);
            if (ready < 0)
                return -1;
            if (ready == 0 || (p.revents & POLLOUT) == 0) {
                if (p.revents & (POLLERR | POLLHUP))
                    return ::write(fd_, data, size > PIPE_BUF ? PIPE_BUF : size); // reports the error
                errno = EAGAIN;
                return -1;
            }
            // A pipe with room takes PIPE_BUF bytes without waiting.
            return ::write(fd_, data, size > PIPE_BUF ? PIPE_BUF : size);
        }
        case Mode::write:
        case Mode::nonblocking: break;
        }
        return ::write(fd_, data, size);
    }

    void reset() noexcept
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
    Mode mode_ = Mode::write;
};

} // namespace vmm::sdk
