// Sockets vmm connects for an isolated plugin (ABI 1.6, VMM_KEY_SOCKET_CONNECT):
// the sandbox forbids socket() and connect(), so for a setting declared a
// socket vmm connects to the UNIX stream socket it names and passes the
// descriptor with the init message; the child's trap hands it to the
// plugin's own connect() of that path (device_host/passed_files.hpp).
#pragma once

#include <string>

namespace vmm::isolation {

// The socket path a setting's value names: the text after "unix:" or
// "connect:" when it starts so, else the whole value.
std::string socket_path_of(const std::string &value);

// A connected AF_UNIX stream socket to `path` (close-on-exec, blocking once
// connected), or -1 with `error` set. Never waits: connected without
// blocking (a listener with a full backlog is EAGAIN), a path too long for
// sockaddr_un is ENAMETOOLONG.
int connect_unix_socket(const std::string &path, int &error);

} // namespace vmm::isolation
