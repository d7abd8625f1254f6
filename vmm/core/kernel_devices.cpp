#include "core/kernel_devices.hpp"

#include <fmt/format.h>

namespace vmm {

std::vector<KernelRange> kernel_device_ranges(const MachineSpec &spec)
{
    std::vector<KernelRange> ranges;
    auto add = [&](Space space, uint64_t base, uint64_t size, const char *device, const char *setting,
                   const SourceLocation &where) {
        ranges.push_back(KernelRange{space, base, size,
                                     fmt::format("the in-kernel {} {} ({} at {})", device,
                                                 describe_range(space, base, size), setting, where.str())});
    };
    if (spec.irqchip) {
        const SourceLocation &at = spec.irqchip_where;
        add(Space::pio, 0x20, 2, "master PIC", "irqchip = true", at);
        add(Space::pio, 0xa0, 2, "slave PIC", "irqchip = true", at);
        add(Space::pio, 0x4d0, 2, "PICs' ELCR", "irqchip = true", at);
        add(Space::mmio, kIoapicBase, kApicWindowSize, "IOAPIC", "irqchip = true", at);
        // Each vCPU's local APIC sits at its APIC base, 0xfee00000 unless
        // the guest moves it; KVM serves it there before any MMIO exit.
        add(Space::mmio, kLocalApicBase, kApicWindowSize, "local APIC", "irqchip = true", at);
    }
    if (spec.pit) {
        add(Space::pio, 0x40, 4, "PIT", "pit = true", spec.pit_where);
        // KVM registers port 0x61 (PC speaker, PIT channel 2's gate) with the PIT.
        add(Space::pio, 0x61, 1, "PIT's speaker port", "pit = true", spec.pit_where);
    }
    return ranges;
}

} // namespace vmm
