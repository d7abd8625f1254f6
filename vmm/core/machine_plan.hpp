// Everything about a machine that can be checked without KVM: its plugins
// (found, loaded, ABI-checked), their settings, every device range in both
// address spaces (clear of the in-kernel devices'), each device's interrupt
// lines, and the guest-physical layout of RAM, ROMs and MMIO.
//
// Building the plan either succeeds or throws InputErrors with every
// problem located in the machine file; only then is a VM created.
#pragma once

#include "boot/acpi_tables.hpp"
#include "boot/boot_layout.hpp"
#include "boot/image_loader.hpp"
#include "bus/address_space.hpp"
#include "config/machine_spec.hpp"
#include "plugin/device_instance.hpp"
#include "plugin/plugin_finder.hpp"

#include <memory>
#include <optional>
#include <vector>

namespace vmm {

// One interrupt line of a device, resolved from the machine file or the
// plugin's defaults and checked against the machine (range, sharing).
struct PlannedIrq {
    uint32_t line = 0;  // the GSI; VMM_IRQ_NO_DEFAULT only without an irqchip (it reaches nothing)
    uint32_t flags = 0; // VMM_IRQ_* as the plugin declared it
};

struct PlannedDevice {
    const DeviceSpec *spec = nullptr;
    std::shared_ptr<PluginLibrary> plugin;
    std::vector<DeviceRegion> regions;
    // The device's lines, index i being its line i. Without an irqchip they
    // are planned (so the device sees its count) but reach nothing.
    std::vector<PlannedIrq> irqs;
};

struct MachinePlan {
    const MachineSpec *spec = nullptr;
    std::vector<PlannedDevice> devices;
    AddressSpace pio{Space::pio};
    AddressSpace mmio{Space::mmio};
    std::vector<LoadedImage> images;
    BootLayout boot;
    std::optional<acpi::Tables> acpi; // [machine] acpi = true (core/acpi_plan.hpp)
};

MachinePlan plan_machine(const MachineSpec &spec, PluginFinder &plugins);

} // namespace vmm
