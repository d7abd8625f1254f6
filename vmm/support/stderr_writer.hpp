// Writing to stderr without ever blocking.
//
// stderr may be a pipe nobody reads (`vmm 2>&1 | less`, paused), a
// terminal stopped with Ctrl-S or a socket. A blocking write there would
// hold a vCPU whose device logs, the thread stopping the VM, and even the
// "second signal: exiting now" path. So log lines, the stop watcher and the
// fatal-signal handler all write through this: our own non-blocking open
// file description of stderr (as the SDK's OutputFd makes one), and what it
// does not take at once is dropped. Lines shorter than PIPE_BUF reach a
// pipe whole or not at all.
#pragma once

#include <cstddef>

namespace vmm {

// Makes the non-blocking copy of descriptor 2. Call once in main() before
// any thread exists; until then (or if it fails) writes poll first.
void init_stderr_writer();

// Writes what stderr takes now; returns how many bytes that was.
// Async-signal-safe.
std::size_t write_stderr(const char *text, std::size_t size) noexcept;

} // namespace vmm
