#include "isolation/socket_settings.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vmm::isolation {

std::string socket_path_of(const std::string &value)
{
    for (const char *prefix : {"unix:", "connect:"}) {
        const std::size_t n = std::strlen(prefix);
        if (value.compare(0, n, prefix) == 0)
            return value.substr(n);
    }
    return value;
}

int connect_unix_socket(const std::string &path, int &error)
{
    sockaddr_un address{};
    if (path.empty() || path.size() >= sizeof address.sun_path) {
        error = path.empty() ? ENOENT : ENAMETOOLONG;
        return -1;
    }
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        error = errno;
        return -1;
    }
    // A UNIX stream connect does not wait for an accept(): it completes at
    // once, or fails (EAGAIN for a full backlog) without blocking.
    int rc;
    do
        rc = ::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        error = errno;
        ::close(fd);
        return -1;
    }
    // Blocking again, as the plugin's own socket would be; the child sets
    // O_NONBLOCK if the plugin's socket() asked for it.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    error = 0;
    return fd;
}

} // namespace vmm::isolation
