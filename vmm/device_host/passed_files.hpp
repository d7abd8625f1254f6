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

struct PassedFile {
    std::string path;    // the setting's value, exactly as the plugin got it
    uint32_t kind = 0;   // VMM_KEY_PATH_WRITE or VMM_KEY_PATH_READ
    int fd = -1;         // vmm's descriptor, or -1
    int error = 0;       // errno of vmm's open when fd is -1
};

// Set once, before the sandbox (the handler reads the table without locks).
void set_passed_files(std::vector<PassedFile> files);

// For the trap handler (async-signal-safe): the result open() returns for
// `path` (a descriptor or -errno), or false when vmm passed no such file.
bool open_passed_file(const char *path, int flags, long &result);

} // namespace vmm::device_host
