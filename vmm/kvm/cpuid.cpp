#include "kvm/cpuid.hpp"

namespace vmm {

std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(std::vector<kvm_cpuid_entry2> entries, uint32_t apic_id)
{
    for (kvm_cpuid_entry2 &entry : entries) {
        switch (entry.function) {
        case 0x1: // EBX[31:24]: initial APIC ID
            entry.ebx = (entry.ebx & 0x00ffffffu) | (apic_id << 24);
            break;
        case 0xb:  // extended topology: EDX is the x2APIC ID on every subleaf
        case 0x1f: // V2 extended topology
            entry.edx = apic_id;
            break;
        default: break;
        }
    }
    return entries;
}

} // namespace vmm
