// The environment vmm-device-host starts with: vmm's own, with the
// sanitizer runtimes (a build with -DVMM_SANITIZE) told to stay inside the
// sandbox. Their defaults need what the seccomp filter forbids: a crash or
// a report runs the symbolizer (fork, execve), LeakSanitizer's check at
// exit() stops the world with a ptrace-ing clone, and their handlers for
// SIGSEGV/SIGABRT/SIGBUS/SIGFPE/SIGILL turn a plugin's crash into their own
// abort. In the child: no symbolizer (reports give module+offset), no leak
// check, the fatal signals left to the kernel so that vmm names them as in
// any other build; ThreadSanitizer does not sleep in exit(). Everything else the runtimes check still applies, and
// still ends the child (halt_on_error, abort_on_error) — which vmm reports
// as a crash.
#pragma once

#include <string>
#include <vector>

namespace vmm::isolation {

// `environment` (NAME=value strings) with the additions above appended to
// ASAN_OPTIONS, UBSAN_OPTIONS and TSAN_OPTIONS (later options win).
std::vector<std::string> child_environment(const std::vector<std::string> &environment);

// The same for this process's environ.
std::vector<std::string> child_environment();

} // namespace vmm::isolation
