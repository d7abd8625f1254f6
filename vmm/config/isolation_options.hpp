// How one isolated device runs: which helper program, what to do when its
// process dies, how long an access may take. From the machine file
// (`isolate = true`, `on_crash`, `[machine] isolate`) or a swap request.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>

namespace vmm {

enum class OnCrash { stop, detach, restart };
const char *on_crash_name(OnCrash policy);

struct IsolationOptions {
    std::filesystem::path helper;      // vmm-device-host
    std::filesystem::path plugin_file; // the plugin's .so, loaded again in the child
    OnCrash on_crash = OnCrash::stop;
    // An access not answered within this is a hung child: killed, and then
    // handled as a crash. Below a second, so that a stop is never held longer.
    uint32_t access_timeout_ms = 500;
    // Restarts allowed within restart_window_s; one more ends the VM as "stop" would.
    uint32_t max_restarts = 3;
    uint32_t restart_window_s = 60;
    bool sandbox = true;
    // The plugin's string settings that name files (VMM_KEY_PATH_WRITE or
    // VMM_KEY_PATH_READ, ABI 1.5): vmm opens them and passes the descriptors.
    std::map<std::string, uint32_t> path_keys;
    // Its string settings that name UNIX sockets it connects to
    // (VMM_KEY_SOCKET_CONNECT, ABI 1.6): vmm connects and passes them.
    std::set<std::string> socket_keys;
};

// vmm-device-host: $VMM_DEVICE_HOST if set, else next to the installed
// plugins (../lib/vmm/plugins from the binary), else the build tree's plugin
// directory. Throws InputError when none is an executable file.
std::filesystem::path find_device_host();

} // namespace vmm
