#include "device_host/passed_files.hpp"

#include <vmm/plugin_abi.h>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vmm::device_host {
namespace {

std::vector<PassedFile> g_files;

// What vmm passed for `path`: a socket it connected (`socket`), or else a
// file it opened; nullptr when none.
const PassedFile *passed(const char *path, bool socket)
{
    if (path == nullptr)
        return nullptr;
    for (const PassedFile &file : g_files) {
        if ((file.kind == VMM_KEY_SOCKET_CONNECT) == socket && std::strcmp(file.path.c_str(), path) == 0)
            return &file;
    }
    return nullptr;
}

} // namespace

void set_passed_files(std::vector<PassedFile> files) { g_files = std::move(files); }

bool open_passed_file(const char *path, int flags, long &result)
{
    const PassedFile *file = passed(path, false);
    if (file == nullptr)
        return false;
    if (file->fd < 0) {
        result = -file->error;
        return true;
    }
    const int mode = flags & O_ACCMODE;
    if ((file->kind == VMM_KEY_PATH_WRITE && mode == O_RDONLY) ||
        (file->kind == VMM_KEY_PATH_READ && mode != O_RDONLY)) {
        result = -EACCES; // declared for the other direction
        return true;
    }
    const int copy = ::fcntl(file->fd, (flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
    if (copy < 0) {
        result = -errno;
        return true;
    }
    // The status flags belong to the open file, shared by every copy: the
    // last open's say, as for the plugin's only user of it.
    ::fcntl(copy, F_SETFL, flags & (O_APPEND | O_NONBLOCK));
    if ((flags & O_TRUNC) && mode != O_RDONLY)
        (void)::ftruncate(copy, 0); // fails harmlessly on a character device
    result = copy;
    return true;
}

bool socket_placeholder(long domain, long type, long &result)
{
    if (domain != AF_UNIX || (type & 0xf) != SOCK_STREAM)
        return false;
    const long fd =
        ::syscall(SYS_eventfd2, 0, (type & SOCK_CLOEXEC ? EFD_CLOEXEC : 0) | (type & SOCK_NONBLOCK ? EFD_NONBLOCK : 0));
    result = fd >= 0 ? fd : -errno;
    return true;
}

bool connect_passed_socket(const char *path, int fd, long &result)
{
    const PassedFile *file = passed(path, true);
    if (file == nullptr)
        return false;
    if (file->fd < 0) {
        result = -file->error;
        return true;
    }
    const int status = ::fcntl(fd, F_GETFL);
    const int descriptor_flags = ::fcntl(fd, F_GETFD);
    if (status < 0 || descriptor_flags < 0) {
        result = -EBADF;
        return true;
    }
    if (::dup3(file->fd, fd, (descriptor_flags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
        result = -errno;
        return true;
    }
    ::fcntl(fd, F_SETFL, status & O_NONBLOCK);
    result = 0;
    return true;
}

} // namespace vmm::device_host
