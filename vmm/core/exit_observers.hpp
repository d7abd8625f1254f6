// Who wants to hear about exits. When nobody does, the exit loop reads no
// clock and fetches no register: `observing()` and `need_registers()` are
// false and every hook below is skipped.
#pragma once

#include "plugin/device_instance.hpp"

#include <vector>

namespace vmm {

struct ExitObservers {
    std::vector<DeviceInstance *> observers; // plugins with observe_exit
    bool keep_vcpu_state = false;            // a plugin set VMM_PLUGIN_NEEDS_VCPU_STATE

    bool observing() const { return !observers.empty(); }
    // Registers must be read at every exit (CS:RIP for observers, or the
    // last-exit snapshot).
    bool need_registers() const { return observing() || keep_vcpu_state; }
};

} // namespace vmm
