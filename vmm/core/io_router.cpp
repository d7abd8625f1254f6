#include "core/io_router.hpp"

#include "support/logging.hpp"

#include <cstring>

namespace vmm {
namespace {
constexpr std::size_t kMaxLoggedUnhandled = 128;
}

IoRouter::IoRouter(AddressSpace pio, AddressSpace mmio, std::vector<std::unique_ptr<DeviceInstance>> devices,
                   bool strict)
    : pio_(std::move(pio)), mmio_(std::move(mmio)), devices_(std::move(devices)), strict_(strict)
{
    pio_.freeze();
    mmio_.freeze();
}

bool IoRouter::access(Space space, uint64_t address, uint8_t *data, uint32_t size, bool is_write)
{
    const AddressSpace &map = space == Space::pio ? pio_ : mmio_;
    if (auto hit = map.find(address, size)) {
        DeviceInstance &device = *devices_[hit->mapping->device];
        if (is_write)
            device.write(hit->mapping->region, hit->offset, data, size);
        else
            device.read(hit->mapping->region, hit->offset, data, size);
        return true;
    }
    if (!is_write)
        std::memset(data, 0xff, size);
    note_unhandled(space, address, size, is_write);
    return !strict_;
}

const DeviceInstance *IoRouter::owner(Space space, uint64_t address, uint32_t size) const
{
    const auto hit = (space == Space::pio ? pio_ : mmio_).find(address, size);
    return hit ? devices_[hit->mapping->device].get() : nullptr;
}

void IoRouter::note_unhandled(Space space, uint64_t address, uint32_t size, bool is_write)
{
    if (strict_)
        return; // the caller stops the VM and reports the access
    std::lock_guard lock(unhandled_mutex_);
    if (unhandled_seen_.size() >= kMaxLoggedUnhandled) {
        if (!unhandled_cap_reported_) {
            logging::core().warn("more than {} unhandled addresses; no longer logging new ones", kMaxLoggedUnhandled);
            unhandled_cap_reported_ = true;
        }
        return;
    }
    if (unhandled_seen_.emplace(space, address).second) {
        logging::core().warn("unhandled {} {} of {} byte(s) at {:#x}{}", space_name(space), is_write ? "write" : "read",
                             size, address, is_write ? " ignored" : " reads as all ones");
    }
}

std::optional<std::size_t> IoRouter::find_device(const std::string &name) const
{
    for (std::size_t i = 0; i < devices_.size(); ++i) {
        if (devices_[i]->name() == name)
            return i;
    }
    return std::nullopt;
}

std::unique_ptr<DeviceInstance> IoRouter::replace_device(std::size_t index, std::unique_ptr<DeviceInstance> device)
{
    std::swap(devices_.at(index), device);
    return device;
}

void IoRouter::destroy_devices()
{
    while (!devices_.empty())
        devices_.pop_back();
}

} // namespace vmm
