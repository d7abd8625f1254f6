// Starting vmm-device-host, the same way for each of its jobs (describing a
// plugin, serving a device): every signal unblocked and at its default (vmm
// blocks some in its threads; the child must die of what kills it), the
// environment of child_environment(), and the given descriptors moved to the
// fixed numbers the child expects.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace vmm::isolation {

// Runs `helper` with `arguments` after its own path, each `moves` pair's
// descriptor (first) duplicated onto its number (second; the source must be
// above every target, so that dup2 always makes a copy without CLOEXEC).
// Returns posix_spawn's error number, 0 with `pid` set on success.
int spawn_device_host(const std::string &helper, const std::vector<std::string> &arguments,
                      const std::vector<std::pair<int, int>> &moves, pid_t &pid);

} // namespace vmm::isolation
