// Putting a vCPU into the start state the machine's boot layout describes.
#pragma once

#include "boot/boot_layout.hpp"
#include "config/machine_spec.hpp"
#include "kvm/vcpu.hpp"

#include <cstdint>

namespace vmm {

// vCPU `index` of the machine. With an irqchip, vCPUs other than 0 are left
// in their wait-for-SIPI state for the guest to start.
void setup_cpu(Vcpu &vcpu, const MachineSpec &spec, const BootLayout &boot, uint32_t index);

} // namespace vmm
