// Files vmm opened for the plugin (settings declared VMM_KEY_PATH_WRITE or
// VMM_KEY_PATH_READ, ABI 1.5): the sandbox forbids open(), so the plugin's
// open of exactly a declared setting's path is answered from here, from the
// signal handler of the seccomp trap, with a copy of vmm's descriptor that
// behaves as the plugin's own open would have (O_TRUNC, O_APPEND,
// O_NONBLOCK, O_CLOEXEC applied; the access mode checked). When vmm could
// not open it, the plugin's open fails with vmm's errno, so its own message
// ("cannot open '...': Permission denied") is the same as in-process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vmm::device_host {

// The same for sockets vmm connected (settings declared VMM_KEY_SOCKET_CONNECT,
// ABI 1.6): the plugin's socket(AF_UNIX, SOCK_STREAM) gets a placeholder
// descriptor (an eventfd with its CLOEXEC/NONBLOCK flags), and its connect()
// of that placeholder to exactly the socket path vmm connected to replaces
// the placeholder (dup3) with vmm's connected socket; O_NONBLOCK as the
// plugin asked. When vmm's connect failed, the plugin's fails with its errno.
struct PassedFile {
    std::string path;    // the setting's value, exactly as the plugin got it (a socket: its path)
    uint32_t kind = 0;   // VMM_KEY_PATH_WRITE, VMM_KEY_PATH_READ or VMM_KEY_SOCKET_CONNECT
    int fd = -1;         // vmm's descriptor, or -1
    int error = 0;       // errno of vmm's open when fd is -1
};

// Set once, before the sandbox (the handler reads the table without locks).
void set_passed_files(std::vector<PassedFile> files);

// For the trap handler (async-signal-safe): the result open() returns for
// `path` (a descriptor or -errno), or false when vmm passed no such file.
bool open_passed_file(const char *path, int flags, long &result);

// For the trap handler: socket(domain, type, 0)'s placeholder (true, `result`
// a descriptor or -errno) for an AF_UNIX stream socket; false for any other.
bool socket_placeholder(long domain, long type, long &result);

// For the trap handler: connect(`fd`, `path`) answered with the socket vmm
// connected to `path` (true), or false when vmm connected no such socket.
bool connect_passed_socket(const char *path, int fd, long &result);

} // namespace vmm::device_host
