// The machine's devices and everything they hold: the instances, their
// ranges in the two address spaces, their interrupt lines, the event loop
// their runtime callbacks run on, and the order of their lives (create,
// realize, quiesce, hand over, destroy). The vCPUs reach devices only
// through the IoRouter, which asks this class who owns an address.
#pragma once

#include "bus/address_space.hpp"
#include "core/machine_plan.hpp"
#include "plugin/device_instance.hpp"
#include "runtime/device_runtime.hpp"
#include "runtime/event_loop.hpp"
#include "runtime/interrupt_lines.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vmm {

class Vm;

class DeviceManager {
public:
    // Creates every planned device, in order (the plan's address spaces
    // move in here). InputError, at the device's `[[device]]`, when a
    // plugin refuses; the devices made so far are destroyed.
    DeviceManager(MachinePlan &plan, HostServices &services, bool irqchip);
    // Stops the event loop first, then destroys devices in reverse order.
    ~DeviceManager();
    DeviceManager(const DeviceManager &) = delete;
    DeviceManager &operator=(const DeviceManager &) = delete;

    // Once the VM (and its irqchip) exist: one irqfd per connected line,
    // the event loop, then `realize` of every device in order. A device
    // that refuses is bad input (InputError at its `[[device]]`).
    // `on_line_raised` (optional) hears every line that rises or is pulsed.
    void start(Vm &vm, bool irqchip, std::function<void(uint32_t gsi)> on_line_raised = {});

    const std::vector<std::unique_ptr<DeviceInstance>> &devices() const { return devices_; }
    DeviceInstance &at(std::size_t index) const { return *devices_.at(index); }
    std::optional<std::size_t> find(const std::string &name) const;
    const AddressSpace &space(Space s) const { return s == Space::pio ? pio_ : mmio_; }
    // Plugins that observe exits, in creation order.
    std::vector<DeviceInstance *> observers() const;

    // Hot swap, while no vCPU can call a device (paused, or not started):
    // device `index` hands over to `replacement` (created, not realized):
    // the old one is quiesced, its state saved (when it has one), its
    // doorbells released, the new one realized and given the state. Any
    // failure puts the old device back as it was and throws. Returns the
    // old instance (the caller destroys it once the guest runs again) and
    // the state's size.
    struct HandOver {
        std::unique_ptr<DeviceInstance> retired;
        uint64_t state_bytes = 0;
    };
    HandOver hand_over(std::size_t index, std::unique_ptr<DeviceInstance> replacement);

    // Destroys every device now (reverse order), the event loop stopped
    // first so that no callback runs into a device being torn down.
    void destroy_all();

private:
    MachinePlan &plan_;
    AddressSpace pio_;
    AddressSpace mmio_;
    std::unique_ptr<InterruptLines> lines_;
    std::unique_ptr<EventLoop> loop_;
    RuntimeServices runtime_;
    std::vector<std::unique_ptr<DeviceInstance>> devices_;
};

} // namespace vmm
