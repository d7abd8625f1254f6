// Putting a vCPU into the start state the machine file asks for.
#pragma once

#include "config/machine_spec.hpp"
#include "kvm/vcpu.hpp"

#include <cstdint>
#include <optional>

namespace vmm {

// `entry` is unused in reset mode (the architectural reset vector).
void setup_cpu(Vcpu &vcpu, const CpuSpec &cpu, std::optional<uint64_t> entry);

} // namespace vmm
