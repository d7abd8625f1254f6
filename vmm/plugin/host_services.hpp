// What the core lends a device instance: guest memory and a way to stop.
// Kept abstract so the plugin layer does not depend on the core's classes.
#pragma once

#include "plugin/machine_facts.hpp"

#include <vmm/plugin_abi.h>

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
    // An isolated device's process died and its policy is to stop the VM:
    // `reason` names the device, the plugin and how it died.
    virtual void device_crashed(int32_t exit_status, const std::string &reason) { request_stop(exit_status, reason); }

    // vCPU services (ABI 1.2). The defaults describe a host without vCPUs.
    virtual uint32_t vcpu_count() { return 0; }
    virtual int32_t current_vcpu() { return -1; }
    virtual vmm_status vcpu_info(uint32_t vcpu, vmm_vcpu_info &info)
    {
        (void)vcpu;
        (void)info;
        return VMM_ERROR_RANGE;
    }
    virtual vmm_status get_vcpu_registers(uint32_t vcpu, vmm_vcpu_registers &registers)
    {
        (void)vcpu;
        (void)registers;
        return VMM_ERROR_RANGE;
    }
    virtual vmm_status set_vcpu_registers(uint32_t vcpu, const vmm_vcpu_registers &registers)
    {
        (void)vcpu;
        (void)registers;
        return VMM_ERROR_RANGE;
    }

    // Machine facts (ABI 1.5). The default describes an empty machine.
    virtual const MachineFacts &machine_facts()
    {
        static const MachineFacts none;
        return none;
    }
};

} // namespace vmm
