// One device: a plugin instance, the host context it calls back through,
// and the lock that serializes it unless its plugin is thread-safe.
#pragma once

#include "bus/address_space.hpp"
#include "config/machine_spec.hpp"
#include "plugin/host_api.hpp"
#include "plugin/host_context.hpp"
#include "plugin/host_services.hpp"
#include "runtime/device_runtime.hpp"
#include "plugin/plugin_library.hpp"

#include <spdlog/logger.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace vmm {

struct IsolationOptions;

struct DeviceRegion {
    Space space = Space::pio;
    uint64_t size = 0;
    uint64_t base = 0; // given to the device only through region_address()
};

// How a device is wired into the machine beyond its regions (ABI 1.4).
struct DeviceWiring {
    // The GSI of each of the device's lines; nothing: the line reaches no
    // controller (the machine has no irqchip).
    std::vector<std::optional<uint32_t>> lines;
    bool irqchip = false;
    // Isolated (the plugin then is PluginLibrary::with_functions's proxy): how.
    std::shared_ptr<const IsolationOptions> isolation;
};

class DeviceInstance {
public:
    // Calls the plugin's create(); throws InputError with the plugin's own
    // explanation when it fails (or the message of an exception it let
    // escape). `settings` were checked against the keys.
    DeviceInstance(std::shared_ptr<PluginLibrary> plugin, std::string name, std::vector<DeviceRegion> regions,
                   const std::vector<Setting> &settings, HostServices &services, DeviceWiring wiring = {});
    ~DeviceInstance();
    DeviceInstance(const DeviceInstance &) = delete;
    DeviceInstance &operator=(const DeviceInstance &) = delete;

    // A guest access. On a plugin error (an error status, or an exception
    // the plugin let escape across the ABI) the error is logged (a few times,
    // then counted), reads return all ones, and the guest goes on.
    void read(uint32_t region, uint64_t offset, uint8_t *data, uint32_t size);
    void write(uint32_t region, uint64_t offset, const uint8_t *data, uint32_t size);
    // ABI 1.2: tell an observer plugin about a handled exit.
    void observe_exit(const vmm_exit_event &event);
    bool observes_exits() const { return plugin_->observes_exits(); }
    // ABI 1.3: the device's state as a blob, and back. Throw SystemError with
    // the plugin's reason when it fails (or cannot: no state functions).
    bool has_state() const { return plugin_->descriptor().save_state != nullptr; }
    std::vector<uint8_t> save_state();
    void load_state(const std::vector<uint8_t> &blob);
    bool needs_vcpu_state() const { return plugin_->needs_vcpu_state(); }

    // ABI 1.4 lifecycle. realize: the VM exists and no vCPU ran; throws
    // InputError with the plugin's reason (a configuration error of this
    // device). quiesce/resume: bring the device to rest and back (no
    // runtime callback in between); quiesce throws SystemError on failure,
    // leaving the device running.
    void realize(const RuntimeServices &services);
    void quiesce();
    void resume();
    // Swap: the old instance's doorbells make way for the new one's.
    void detach_doorbells() { context_->runtime->detach_doorbells(); }
    void attach_doorbells() { context_->runtime->attach_doorbells(); }
    const DeviceWiring &wiring() const { return wiring_; }

    const std::string &name() const { return name_; }
    const PluginLibrary &plugin() const { return *plugin_; }
    const std::vector<DeviceRegion> &regions() const { return regions_; }
    uint64_t failed_calls() const { return failed_calls_.load(); }

private:
    void report_failure(const char *operation, uint32_t region, uint64_t offset, uint32_t size, vmm_status status,
                        const std::optional<std::string> &thrown);
    void destroy_instance(void *instance);
    // Calls a lifecycle function (realize, quiesce, resume) under the lock;
    // returns the failure's explanation, or nothing when it succeeded.
    std::optional<std::string> call_lifecycle(const char *what, vmm_status (*fn)(void *));
    // Held around each call into the instance, unless its plugin declares
    // itself thread-safe (then it holds nothing).
    std::unique_lock<std::mutex> lock_for_call()
    {
        if (serialize_)
            return std::unique_lock<std::mutex>(mutex_);
        return std::unique_lock<std::mutex>(mutex_, std::defer_lock);
    }

    std::shared_ptr<PluginLibrary> plugin_; // keeps the code loaded while the instance lives
    std::string name_;
    std::vector<DeviceRegion> regions_;
    DeviceWiring wiring_;
    std::unique_ptr<vmm_host_context> context_;
    struct CreateArguments;
    std::unique_ptr<CreateArguments> create_arguments_; // outlives destroy(), as the ABI promises
    void *instance_ = nullptr;
    std::mutex mutex_;
    bool serialize_ = true;
    std::atomic<uint64_t> failed_calls_{0};
};

} // namespace vmm
