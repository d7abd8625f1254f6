// A machine's interrupt lines, planned: each device's lines come from the
// machine file (`irq`, `irqs`) or its plugin's defaults, and are checked
// against the machine (the in-kernel IOAPIC's 24 lines, the PIC cascade,
// the PIT's line, sharing) before any VM exists.
//
// Without an irqchip a device still gets its lines (it sees their count) but
// they reach nothing; lines the machine file sets explicitly are refused
// there, since they could only ever be a mistake.
#pragma once

#include "config/machine_spec.hpp"
#include "core/machine_plan.hpp"
#include "plugin/plugin_library.hpp"
#include "support/errors.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vmm {

// The in-kernel IOAPIC's lines (GSIs) are 0..kIoapicLines-1.
inline constexpr uint32_t kIoapicLines = 24;
// The master PIC's input 2 takes the slave PIC: no device can use it.
inline constexpr uint32_t kCascadeLine = 2;
// The in-kernel PIT raises line 0.
inline constexpr uint32_t kPitLine = 0;

class IrqPlanner {
public:
    // Problems are appended to `errors`, located in the machine file.
    IrqPlanner(const MachineSpec &spec, std::vector<InputError> &errors);

    // Rules of [machine] alone (pit needs irqchip).
    void check_machine();

    // The device's lines, index i being its line i. Call once per device, in
    // the machine file's order: a clash names the device declared first.
    std::vector<PlannedIrq> plan_device(const DeviceSpec &device, const PluginLibrary &plugin);

private:
    // Who holds a line so far, for messages about a second device on it.
    struct LineUser {
        std::string device;
        std::string plugin;
        uint32_t flags = 0;
        SourceLocation where;
    };

    bool explicit_lines_fit(const DeviceSpec &device, const PluginLibrary &plugin);
    void check_line(const DeviceSpec &device, const PluginLibrary &plugin, uint32_t line, uint32_t flags,
                    bool from_default);
    void error(const SourceLocation &where, const std::string &message) { errors_.emplace_back(where, message); }

    const MachineSpec &spec_;
    std::vector<InputError> &errors_;
    std::map<uint32_t, LineUser> users_;
};

} // namespace vmm
