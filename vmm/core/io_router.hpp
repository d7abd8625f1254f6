// Routes guest port and MMIO accesses to devices through the two address
// spaces, and decides what an access nobody claims does.
//
// Unhandled: reads see all ones, each address is logged once (up to a cap,
// so a guest scanning the bus cannot grow our memory), and the guest goes
// on - unless the machine is strict, where the access is fatal.
#pragma once

#include "bus/address_space.hpp"
#include "plugin/device_instance.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <set>
#include <utility>
#include <vector>

namespace vmm {

class IoRouter {
public:
    IoRouter(AddressSpace pio, AddressSpace mmio, std::vector<std::unique_ptr<DeviceInstance>> devices, bool strict);
    ~IoRouter() { destroy_devices(); } // on every path out, the reverse order too
    IoRouter(const IoRouter &) = delete;
    IoRouter &operator=(const IoRouter &) = delete;

    // False when the access was unhandled and the machine is strict.
    bool access(Space space, uint64_t address, uint8_t *data, uint32_t size, bool is_write);

    const AddressSpace &space(Space s) const { return s == Space::pio ? pio_ : mmio_; }
    // The instance owning the access, for observers; nullptr when unclaimed.
    const DeviceInstance *owner(Space space, uint64_t address, uint32_t size) const;
    const std::vector<std::unique_ptr<DeviceInstance>> &devices() const { return devices_; }
    // Destroy devices in reverse order of creation.
    void destroy_devices();
    // Index of the device called `name`, if any.
    std::optional<std::size_t> find_device(const std::string &name) const;
    // Put `device` in place of device `index` and return the old one. Only
    // while no vCPU can dispatch (the VM is paused, or not running).
    std::unique_ptr<DeviceInstance> replace_device(std::size_t index, std::unique_ptr<DeviceInstance> device);

private:
    void note_unhandled(Space space, uint64_t address, uint32_t size, bool is_write);

    AddressSpace pio_;
    AddressSpace mmio_;
    std::vector<std::unique_ptr<DeviceInstance>> devices_;
    bool strict_;

    std::mutex unhandled_mutex_;
    std::set<std::pair<Space, uint64_t>> unhandled_seen_;
    bool unhandled_cap_reported_ = false;
};

} // namespace vmm
