#include "debug/gdb_listener.hpp"

#include "support/errors.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace vmm::gdb {
namespace {

UniqueFd listen_unix(const std::string &path, const std::string &what)
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof address.sun_path)
        throw InputError(fmt::format("{} {}: a UNIX socket path must have 1 to {} bytes", what, path,
                                     sizeof address.sun_path - 1));
    std::memcpy(address.sun_path, path.c_str(), path.size());
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            throw InputError(fmt::format("{} {}: the path exists and is not a socket", what, path));
        const UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (probe.valid() && (::connect(probe.get(), reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0 ||
                              errno == EAGAIN || errno == EINPROGRESS))
            throw InputError(fmt::format("{} {}: the socket is in use: another program listens on it", what, path));
        ::unlink(path.c_str()); // a stale socket nobody listens on
    }
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid())
        throw SystemError(errno_message("socket", errno));
    if (::bind(fd.get(), reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0)
        throw InputError(errno_message(fmt::format("{} {}: cannot listen there", what, path), errno));
    if (::listen(fd.get(), 2) != 0)
        throw InputError(errno_message(fmt::format("{} {}: cannot listen there", what, path), errno));
    return fd;
}

UniqueFd listen_tcp(const std::string &address, const std::string &what)
{
    const auto colon = address.rfind(':');
    std::string host = colon == std::string::npos ? "" : address.substr(0, colon);
    const std::string port_text = colon == std::string::npos ? address : address.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    char *end = nullptr;
    const long port = std::strtol(port_text.c_str(), &end, 10);
    if (port_text.empty() || *end != '\0' || port < 1 || port > 65535)
        throw InputError(fmt::format("{} {}: expected HOST:PORT with a port from 1 to 65535, or a UNIX socket path "
                                     "(with a '/')",
                                     what, address));
    if (host.empty())
        host = "127.0.0.1"; // loopback by default: a debugger can write guest memory
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo *found = nullptr;
    if (const int error = ::getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found); error != 0)
        throw InputError(fmt::format("{} {}: cannot resolve host '{}': {}", what, address, host, ::gai_strerror(error)));
    std::string last_error = "no address";
    UniqueFd result;
    for (addrinfo *a = found; a != nullptr && !result.valid(); a = a->ai_next) {
        UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
        if (!fd.valid())
            continue;
        const int one = 1;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd.get(), a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd.get(), 2) != 0) {
            const int error = errno;
            last_error = error == EADDRINUSE ? "the port is in use (another program listens on it)"
                                             : std::strerror(error);
            continue;
        }
        result = std::move(fd);
    }
    ::freeaddrinfo(found);
    if (!result.valid())
        throw InputError(fmt::format("{} {}: cannot listen there: {}", what, address, last_error));
    return result;
}

} // namespace

UniqueFd open_listener(const std::string &address, const std::string &what)
{
    if (address.find('/') != std::string::npos)
        return listen_unix(address, what);
    return listen_tcp(address, what);
}

} // namespace vmm::gdb
