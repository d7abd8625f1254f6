// Devices KVM emulates in the kernel when the machine asks for them: with
// `irqchip = true` the PICs, their ELCR, the IOAPIC and the local APICs;
// with `pit = true` the i8254 PIT (and the speaker port KVM registers with
// it). Their accesses never leave the kernel, so a plugin's range on top of
// them would never be called: the plan refuses it, naming both sides.
//
// These ranges are only for that check. They are not added to the address
// spaces the vCPUs dispatch through: nothing in userspace serves them.
#pragma once

#include "bus/address_space.hpp"
#include "config/machine_spec.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace vmm {

inline constexpr uint64_t kIoapicBase = 0xfec00000;
inline constexpr uint64_t kLocalApicBase = 0xfee00000;
inline constexpr uint64_t kApicWindowSize = 0x1000;

struct KernelRange {
    Space space = Space::pio;
    uint64_t base = 0;
    uint64_t size = 0;
    // For messages: "the in-kernel PIT pio 0x40-0x43 (pit = true at m.toml:4:7)".
    std::string what;
};

// The ranges the machine's in-kernel devices occupy; none without them.
std::vector<KernelRange> kernel_device_ranges(const MachineSpec &spec);

} // namespace vmm
