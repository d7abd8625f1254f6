// The CPUID table each vCPU gets: what KVM supports on this host, with the
// vCPU's own APIC ID where the architecture reports it.
#pragma once

#include <linux/kvm.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace vmm {

struct CpuidSpec;

// KVM's entries with the machine file's brand and overrides applied, and
// then the vCPU's own APIC ID (so an override cannot give two vCPUs one ID).
std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(std::vector<kvm_cpuid_entry2> entries, const CpuidSpec &identity,
                                             uint32_t apic_id);

// The 12 register values of a brand string (leaves 0x80000002-4, EAX-EDX).
std::array<uint32_t, 12> brand_registers(const std::string &brand);

} // namespace vmm
