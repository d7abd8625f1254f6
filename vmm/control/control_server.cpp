#include "control/control_server.hpp"

#include "support/errors.hpp"
#include "support/logging.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace vmm {
namespace {

constexpr std::size_t kMaxLine = 64 * 1024;
constexpr std::size_t kMaxClients = 16;

struct Client {
    UniqueFd fd;
    std::string pending; // bytes read, not yet a whole line
};

bool send_line(int fd, const std::string &line)
{
    std::string text = line + "\n";
    const char *cursor = text.data();
    std::size_t left = text.size();
    while (left > 0) {
        const ssize_t sent = ::send(fd, cursor, left, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return false;
        cursor += sent;
        left -= static_cast<std::size_t>(sent);
    }
    return true;
}

sockaddr_un socket_address(const std::string &text)
{
    sockaddr_un address{};
    if (text.empty() || text.size() >= sizeof address.sun_path)
        throw InputError(fmt::format("control socket path '{}' is empty or longer than {} bytes", text,
                                     sizeof address.sun_path - 1));
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
    return address;
}

} // namespace

void ControlServer::check_path(const std::filesystem::path &path)
{
    const std::string text = path.string();
    const sockaddr_un address = socket_address(text);
    struct stat st {};
    if (::lstat(text.c_str(), &st) != 0)
        return;
    if (!S_ISSOCK(st.st_mode))
        throw InputError(fmt::format("control socket path {} exists and is not a socket", text));
    const UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!probe.valid())
        throw SystemError(errno_message("socket", errno));
    // Non-blocking: a listener whose backlog is full answers EAGAIN, which
    // still means somebody is there.
    if (::connect(probe.get(), reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0 ||
        errno == EAGAIN || errno == EINPROGRESS)
        throw InputError(fmt::format("control socket {} is in use: another vmm (or program) is listening on it", text));
    if (errno != ECONNREFUSED)
        throw InputError(errno_message("cannot tell whether control socket " + text + " is in use", errno));
}

ControlServer::ControlServer(std::filesystem::path path, Handler handler)
    : path_(std::move(path)), handler_(std::move(handler))
{
    const std::string text = path_.string();
    const sockaddr_un address = socket_address(text);
    check_path(path_);
    if (::unlink(text.c_str()) != 0 && errno != ENOENT) // a stale socket from an earlier run
        throw InputError(errno_message("cannot replace the stale control socket " + text, errno));
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener_.valid())
        throw SystemError(errno_message("socket", errno));
    // The socket appears at its path only once it listens: bound under a
    // temporary name next to it, then renamed. A client that waits for the
    // file and connects at once (scripts, tests) never finds a socket that
    // refuses connections. A path too long for the temporary name is bound
    // directly, with that short window.
    const std::string staging = text + ".new-" + std::to_string(::getpid());
    const bool staged = staging.size() < sizeof address.sun_path;
    const sockaddr_un bind_address = staged ? socket_address(staging) : address;
    if (staged)
        ::unlink(staging.c_str()); // left by a vmm of the same pid that died here
    if (::bind(listener_.get(), reinterpret_cast<const sockaddr *>(&bind_address), sizeof bind_address) != 0)
        throw InputError(errno_message("cannot listen on control socket " + text, errno));
    if (::listen(listener_.get(), 8) != 0) {
        const int error = errno;
        if (staged)
            ::unlink(staging.c_str());
        throw SystemError(errno_message("listen on " + text, error));
    }
    if (staged && ::rename(staging.c_str(), text.c_str()) != 0) {
        const int error = errno;
        ::unlink(staging.c_str());
        throw InputError(errno_message("cannot listen on control socket " + text, error));
    }
    struct stat bound {};
    if (::lstat(text.c_str(), &bound) == 0) {
        socket_device_ = bound.st_dev;
        socket_inode_ = bound.st_ino;
    }
    wake_.reset(::eventfd(0, EFD_CLOEXEC));
    if (!wake_.valid())
        throw SystemError(errno_message("eventfd", errno));
    thread_ = std::thread([this] { serve(); });
    logging::core().info("control socket listening on {}", text);
}

ControlServer::~ControlServer()
{
    const uint64_t one = 1;
    if (::write(wake_.get(), &one, sizeof one) < 0)
        logging::core().warn("cannot wake the control thread: {}", std::strerror(errno));
    if (thread_.joinable())
        thread_.join();
    // Only our own socket file: if it was replaced meanwhile (by hand, or
    // by a vmm older than this one), the path belongs to someone else.
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == socket_device_ && st.st_ino == socket_inode_)
        ::unlink(path_.c_str());
}

void ControlServer::serve()
{
    std::vector<Client> clients;
    for (;;) {
        std::vector<pollfd> fds = {{wake_.get(), POLLIN, 0}, {listener_.get(), POLLIN, 0}};
        for (const Client &c : clients)
            fds.push_back({c.fd.get(), POLLIN, 0});
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR)
                continue;
            logging::core().error("control socket: poll failed: {}", std::strerror(errno));
            return;
        }
        if (fds[0].revents != 0)
            return;
        // The clients polled above, from the end so that erasing keeps the
        // indices of the rest valid. New clients are accepted only after
        // this loop: fds has no entry for them yet.
        for (std::size_t i = clients.size(); i-- > 0;) {
            if (fds[2 + i].revents == 0)
                continue;
            Client &client = clients[i];
            char buffer[4096];
            const ssize_t n = ::recv(client.fd.get(), buffer, sizeof buffer, 0);
            if (n < 0 && errno == EINTR)
                continue;
            bool keep = n > 0;
            if (keep)
                client.pending.append(buffer, static_cast<std::size_t>(n));
            for (auto newline = client.pending.find('\n'); keep && newline != std::string::npos;
                 newline = client.pending.find('\n')) {
                std::string line = client.pending.substr(0, newline);
                client.pending.erase(0, newline + 1);
                if (!line.empty() && line.back() == '\r')
                    line.pop_back();
                if (line.empty())
                    continue;
                std::string reply;
                try {
                    reply = handler_(line);
                } catch (...) {
                    // No exception may end this thread (and with it the VMM).
                    reply = R"({"ok":false,"error":"internal error while answering the request"})";
                }
                keep = send_line(client.fd.get(), reply);
            }
            if (keep && client.pending.size() > kMaxLine) {
                send_line(client.fd.get(), R"({"ok":false,"error":"request line longer than 64 KiB"})");
                keep = false;
            }
            if (!keep)
                clients.erase(clients.begin() + static_cast<std::ptrdiff_t>(i));
        }
        if (fds[1].revents & POLLIN) {
            UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (client.valid()) {
                // A client that stops reading must not hold this thread (and
                // with it the VM's shutdown) in send(): give up on it instead.
                const timeval send_timeout{1, 0};
                ::setsockopt(client.get(), SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
                if (clients.size() >= kMaxClients)
                    send_line(client.get(), R"({"ok":false,"error":"too many control connections"})");
                else
                    clients.push_back(Client{std::move(client), {}});
            }
        }
    }
}

} // namespace vmm
