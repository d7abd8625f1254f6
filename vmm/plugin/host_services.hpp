// What the core lends a device instance: guest memory and a way to stop.
// Kept abstract so the plugin layer does not depend on the core's classes.
#pragma once

#include <cstdint>
#include <string>

namespace vmm {

class GuestMemory;

class HostServices {
public:
    virtual ~HostServices() = default;
    virtual GuestMemory &memory() = 0;
    // `requester` names the device, for the log line explaining the stop.
    virtual void request_stop(int32_t exit_status, const std::string &requester) = 0;
};

} // namespace vmm
