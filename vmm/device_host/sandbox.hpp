// The isolated plugin's sandbox, applied after the plugin is loaded and the
// channel's threads exist, before its create runs: no new privileges, resource
// limits, and a seccomp filter (libseccomp) allowing only what a device needs.
// docs/isolation.md lists every system call it allows; anything else kills the
// process (SECCOMP_RET_KILL_PROCESS), except open/openat, which trap so that
// the attempt is reported by name first (see sandbox.cpp).
#pragma once

#include <string>

namespace vmm::device_host {

// Throws std::runtime_error naming what the kernel refused.
void enter_sandbox(int channel);

} // namespace vmm::device_host
