// The one path for fatal signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT).
//
// A plugin that crashes takes the whole process with it; what matters is
// that the user learns which device and plugin did it, and that the report
// says so instead of being missing or stale. The handler (async-signal-safe
// throughout, on an alternate stack so a stack overflow is caught too):
//  1. restores the terminal (TerminalGuard::restore_now);
//  2. names the device, plugin, file and faulting address on stderr (see
//     plugin_crash.hpp), and writes a minimal report (machine, exit status,
//     why) with write(2) and rename(2) (ReportFile::write_minimal_now);
//  3. exits with kExitPluginCrashed when plugin code crashed; otherwise
//     (vmm's own bug, or a signal sent from outside) re-raises the signal
//     with its default action, so the crash is still reported as one.
// A symbol name (dladdr, which is not formally async-signal-safe) is looked
// up last, after all of that is written, under an alarm that exits anyway.
#pragma once

#include <string>

namespace vmm {

inline constexpr int kExitPluginCrashed = 3; // a plugin crashed (README: exit statuses)

// Installs the handlers and gives the calling thread an alternate stack.
// Call once, early in main(), before any thread exists.
void install_fatal_signal_handlers();

} // namespace vmm
