// Routes guest port and MMIO accesses to devices through the two address
// spaces, and decides what an access nobody claims does.
//
// Unhandled: reads see all ones, each address is logged once (up to a cap,
// so a guest scanning the bus cannot grow our memory), and the guest goes
// on - unless the machine is strict, where the access is fatal.
#pragma once

#include "bus/address_space.hpp"
#include "core/device_manager.hpp"
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
    IoRouter(const DeviceManager &devices, bool strict) : devices_(devices), strict_(strict) {}
    IoRouter(const IoRouter &) = delete;
    IoRouter &operator=(const IoRouter &) = delete;

    // False when the access was unhandled and the machine is strict.
    bool access(Space space, uint64_t address, uint8_t *data, uint32_t size, bool is_write);

    // The instance owning the access, for observers; nullptr when unclaimed.
    const DeviceInstance *owner(Space space, uint64_t address, uint32_t size) const;

private:
    void note_unhandled(Space space, uint64_t address, uint32_t size, bool is_write);

    const DeviceManager &devices_;
    bool strict_;

    std::mutex unhandled_mutex_;
    std::set<std::pair<Space, uint64_t>> unhandled_seen_;
    bool unhandled_cap_reported_ = false;
};

} // namespace vmm
