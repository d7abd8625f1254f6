// The CPUID table each vCPU gets: what KVM supports on this host, with the
// vCPU's own APIC ID where the architecture reports it.
#pragma once

#include <linux/kvm.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vmm {

struct CpuidSpec;

// KVM's entries with the machine file's brand and overrides applied, and
// then the vCPU's own APIC ID (so an override cannot give two vCPUs one ID).
std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(std::vector<kvm_cpuid_entry2> entries, const CpuidSpec &identity,
                                             uint32_t apic_id);

// KVM_MAX_CPUID_ENTRIES (arch/x86/include/asm/kvm_host.h, 256 since Linux
// 5.16; 80 before): KVM_SET_CPUID2 refuses a longer table with E2BIG.
inline constexpr std::size_t kKvmMaxCpuidEntries = 256;

// What KVM_GET_SUPPORTED_CPUID gives on this host, or nothing when /dev/kvm
// cannot be used (the plan is then checked against the overrides alone).
std::vector<kvm_cpuid_entry2> host_supported_cpuid();

// The table each vCPU would get must fit in KVM_SET_CPUID2: the supported
// leaves plus the leaves the brand and overrides add. A message (located
// at the overrides) when it does not; "" when it does.
std::string check_cpuid_table_size(const std::vector<kvm_cpuid_entry2> &supported, const CpuidSpec &identity);

// The 12 register values of a brand string (leaves 0x80000002-4, EAX-EDX).
std::array<uint32_t, 12> brand_registers(const std::string &brand);

} // namespace vmm
