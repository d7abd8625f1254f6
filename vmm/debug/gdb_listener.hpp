// Where the stub listens: `--gdb ADDRESS` is a TCP `host:port` (a bare
// `:port` or `port` means the loopback address), or a UNIX socket path (it
// contains a '/'). Opened before the VM is created, so a busy port or an
// unusable address is bad input (exit 2) and nothing has started.
#pragma once

#include "support/unique_fd.hpp"

#include <string>

namespace vmm::gdb {

// Throws InputError naming `what` (the option or the machine file's key)
// when the address is malformed or cannot be listened on.
UniqueFd open_listener(const std::string &address, const std::string &what);

} // namespace vmm::gdb
