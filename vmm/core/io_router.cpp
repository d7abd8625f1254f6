#include "core/io_router.hpp"

#include "support/logging.hpp"

#include <cstring>

namespace vmm {
namespace {
constexpr std::size_t kMaxLoggedUnhandled = 128;
}

bool IoRouter::access(Space space, uint64_t address, uint8_t *data, uint32_t size, bool is_write)
{
    if (auto hit = devices_.space(space).find(address, size)) {
        DeviceInstance &device = devices_.at(hit->mapping->device);
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
    const auto hit = devices_.space(space).find(address, size);
    return hit ? &devices_.at(hit->mapping->device) : nullptr;
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

} // namespace vmm
