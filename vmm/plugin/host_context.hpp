// The ABI's opaque handle, defined on the host side only: what a device
// instance's calls back into the host carry.
//
// A context outlives its instance: when the instance is destroyed its
// context is kept (see retire_host_context) with the phase "destroying",
// so a plugin thread that calls the host after destroy gets an error and a
// logged line instead of touching freed memory.
#pragma once

#include "runtime/device_runtime.hpp"

#include <spdlog/logger.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vmm {
class HostServices;
struct IsolationOptions;
}

struct vmm_host_context {
    std::string instance_name;
    std::string plugin_name;
    std::shared_ptr<spdlog::logger> logger;
    vmm::HostServices *services = nullptr; // not used once the instance is destroyed
    std::vector<uint64_t> region_bases;
    std::unique_ptr<vmm::DeviceRuntime> runtime; // ABI 1.4 services
    // Set for an isolated device: how its process runs (isolated_plugin.cpp reads it).
    std::shared_ptr<const vmm::IsolationOptions> isolation;

    // While create(), save_state() or load_state() runs, the error lines the
    // plugin logs are kept to explain a failure. A plugin may log from any
    // of its threads: the text is guarded by a mutex, which `capturing_`
    // spares every other log call.
    void start_capture();
    std::string end_capture(); // stops capturing; returns what was kept
    void capture(const char *message);

    // False (and a logged line) once the instance is being destroyed.
    bool usable(const char *service);

private:
    std::atomic<bool> capturing_{false};
    std::mutex capture_mutex_;
    std::string captured_errors_;
};

namespace vmm {

// Keeps a destroyed instance's context until the process ends (a few
// hundred bytes per instance ever destroyed, hot swaps included).
void retire_host_context(std::unique_ptr<vmm_host_context> context);

} // namespace vmm
