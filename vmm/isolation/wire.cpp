#include "isolation/wire.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace vmm::isolation {

Message &Message::operator=(Message &&other) noexcept
{
    if (this != &other) {
        for (int fd : fds)
            if (fd >= 0)
                ::close(fd);
        bytes = std::move(other.bytes);
        fds = std::move(other.fds);
        other.fds.clear();
    }
    return *this;
}

Message::~Message()
{
    for (int fd : fds)
        if (fd >= 0)
            ::close(fd);
}

int Message::take_fd(std::size_t i)
{
    if (i >= fds.size())
        return -1;
    const int fd = fds[i];
    fds[i] = -1;
    return fd;
}

bool send_message(int socket, const Writer &message, const std::vector<int> &fds, bool dont_wait)
{
    if (fds.size() > kMaxFds)
        return false;
    iovec iov{const_cast<uint8_t *>(message.bytes().data()), message.bytes().size()};
    msghdr header{};
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
    if (!fds.empty()) {
        header.msg_control = control;
        header.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr *c = CMSG_FIRSTHDR(&header);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    const int flags = MSG_NOSIGNAL | (dont_wait ? MSG_DONTWAIT : 0);
    for (;;) {
        const ssize_t n = ::sendmsg(socket, &header, flags);
        if (n >= 0)
            return static_cast<std::size_t>(n) == message.bytes().size();
        if (errno != EINTR)
            return false;
    }
}

std::optional<Message> receive_message(int socket, std::size_t max_bytes)
{
    Message message;
    message.bytes.resize(max_bytes);
    iovec iov{message.bytes.data(), message.bytes.size()};
    msghdr header{};
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
    header.msg_control = control;
    header.msg_controllen = sizeof control;
    ssize_t n;
    do
        n = ::recvmsg(socket, &header, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return std::nullopt;
    for (cmsghdr *c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            message.fds.push_back(fd);
        }
    }
    if ((header.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0)
        return std::nullopt; // the descriptors that did arrive are closed with `message`
    message.bytes.resize(static_cast<std::size_t>(n));
    return message;
}

} // namespace vmm::isolation
