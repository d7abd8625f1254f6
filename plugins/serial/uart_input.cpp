#include "uart_input.hpp"

#include <vmm/sdk/device.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace uart {
namespace {

using vmm::sdk::ConfigError;

[[noreturn]] void fail(const std::string &what, const std::string &path, int error)
{
    throw ConfigError("input_from: " + what + " '" + path + "': " + std::strerror(error));
}

sockaddr_un socket_address(const std::string &path)
{
    sockaddr_un address{};
    if (path.empty() || path.size() >= sizeof address.sun_path)
        throw ConfigError("input_from: socket path must be 1-" + std::to_string(sizeof address.sun_path - 1) +
                          " bytes: '" + path + "'");
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    return address;
}

void set_nonblocking(int fd)
{
    // Only on descriptors we opened ourselves: their flags are ours alone.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

} // namespace

InputSpec InputSpec::parse(const std::string &value)
{
    InputSpec spec;
    const auto with_path = [&](const char *prefix, Kind kind) {
        const std::size_t n = std::strlen(prefix);
        if (value.compare(0, n, prefix) != 0)
            return false;
        spec.kind = kind;
        spec.path = value.substr(n);
        if (spec.path.empty())
            throw ConfigError("input_from: '" + value + "' names no path");
        return true;
    };
    if (value == "none")
        return spec;
    if (value == "stdin") {
        spec.kind = Kind::stdin_;
        return spec;
    }
    if (with_path("file:", Kind::file) || with_path("listen:", Kind::listen) || with_path("connect:", Kind::connect))
        return spec;
    throw ConfigError("input_from: '" + value +
                      "' is not one of \"none\", \"stdin\", \"file:PATH\", \"listen:PATH\", \"connect:PATH\"");
}

void InputSpec::check() const
{
    struct stat st {};
    switch (kind) {
    case Kind::none:
    case Kind::stdin_: return;
    case Kind::file:
        if (::access(path.c_str(), R_OK) != 0)
            fail("cannot read", path, errno);
        return;
    case Kind::connect:
        if (::stat(path.c_str(), &st) != 0)
            fail("cannot connect to", path, errno);
        if (!S_ISSOCK(st.st_mode))
            fail("cannot connect to", path, ENOTSOCK);
        socket_address(path);
        return;
    case Kind::listen: {
        socket_address(path);
        const std::filesystem::path parent = std::filesystem::path(path).parent_path();
        if (!parent.empty() && ::stat(parent.c_str(), &st) != 0)
            fail("cannot listen on", path, errno);
        // A socket left by an earlier run is replaced; anything else is not ours.
        if (::lstat(path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode))
            fail("cannot listen on", path, EEXIST);
        return;
    }
    }
}

InputStream::~InputStream()
{
    end();
    if (listen_fd_ >= 0)
        ::close(listen_fd_);
    if (bound_)
        ::unlink(spec_.path.c_str());
}

void InputStream::open(int connected)
{
    switch (spec_.kind) {
    case InputSpec::Kind::none: ended_ = true; return;
    case InputSpec::Kind::stdin_:
    case InputSpec::Kind::file: {
        const bool from_stdin = spec_.kind == InputSpec::Kind::stdin_;
        const std::string path = from_stdin ? std::string("/proc/self/fd/0") : spec_.path;
        struct stat st {};
        if (from_stdin && ::fstat(STDIN_FILENO, &st) != 0)
            fail("cannot read", "stdin", errno);
        if (from_stdin && S_ISREG(st.st_mode)) {
            // A file on stdin: read it through a copy (its offset is shared,
            // and nothing else reads stdin).
            data_fd_ = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        } else {
            // A new open file description: O_NONBLOCK stays ours, not the
            // shell's that shares the terminal or pipe. A named FIFO is
            // opened for writing too (as QEMU's pipe back end does), so that
            // no writer yet, or one that left, is an idle line, not the end.
            const bool named_fifo = !from_stdin && ::stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
            data_fd_ = ::open(path.c_str(), (named_fifo ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        }
        if (data_fd_ < 0)
            fail("cannot read", from_stdin ? "stdin" : spec_.path, errno);
        if (::fstat(data_fd_, &st) == 0)
            always_ready_ = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
        terminal_ = from_stdin && ::isatty(STDIN_FILENO);
        return;
    }
    case InputSpec::Kind::connect: {
        if (connected >= 0) {
            data_fd_ = ::fcntl(connected, F_DUPFD_CLOEXEC, 3);
            if (data_fd_ < 0)
                fail("cannot connect to", spec_.path, errno);
            set_nonblocking(data_fd_); // the socket is the device's own
            return;
        }
        const sockaddr_un address = socket_address(spec_.path);
        data_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (data_fd_ < 0 || ::connect(data_fd_, reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0) {
            const int error = errno;
            end();
            fail("cannot connect to", spec_.path, error);
        }
        set_nonblocking(data_fd_);
        return;
    }
    case InputSpec::Kind::listen: {
        const sockaddr_un address = socket_address(spec_.path);
        struct stat st {};
        if (::lstat(spec_.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
            ::unlink(spec_.path.c_str()); // left by an earlier run (or the instance this one replaces)
        listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0)
            fail("cannot listen on", spec_.path, errno);
        bound_ = true;
        if (::listen(listen_fd_, 4) != 0)
            fail("cannot listen on", spec_.path, errno);
        return;
    }
    }
}

bool InputStream::accept()
{
    if (listen_fd_ < 0 || data_fd_ >= 0)
        return false;
    for (;;) {
        const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (client >= 0) {
            data_fd_ = client;
            ended_ = false;
            return true;
        }
        if (errno != EINTR)
            return false;
    }
}

ssize_t InputStream::read(uint8_t *buffer, std::size_t size)
{
    if (data_fd_ < 0) {
        errno = EAGAIN;
        return -1;
    }
    for (;;) {
        const ssize_t n = ::read(data_fd_, buffer, size);
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

void InputStream::end()
{
    if (data_fd_ >= 0)
        ::close(data_fd_);
    data_fd_ = -1;
    // A listening socket goes on: the next client is taken.
    ended_ = listen_fd_ < 0;
}

} // namespace uart
