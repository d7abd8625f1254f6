// The CPUID table each vCPU gets: what KVM supports on this host, with the
// vCPU's own APIC ID where the architecture reports it.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace vmm {

std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(std::vector<kvm_cpuid_entry2> entries, uint32_t apic_id);

} // namespace vmm
