#include "kvm/cpuid.hpp"

#include "kvm/cpuid_spec.hpp"
#include "kvm/kvm_system.hpp"
#include "support/errors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace vmm {
namespace {

kvm_cpuid_entry2 *find(std::vector<kvm_cpuid_entry2> &entries, uint32_t leaf, std::optional<uint32_t> subleaf)
{
    for (kvm_cpuid_entry2 &entry : entries) {
        if (entry.function != leaf)
            continue;
        const bool indexed = (entry.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) != 0;
        if (!subleaf || !indexed || entry.index == *subleaf)
            return &entry;
    }
    return nullptr;
}

kvm_cpuid_entry2 &find_or_add(std::vector<kvm_cpuid_entry2> &entries, uint32_t leaf, std::optional<uint32_t> subleaf)
{
    if (kvm_cpuid_entry2 *entry = find(entries, leaf, subleaf))
        return *entry;
    kvm_cpuid_entry2 entry{};
    entry.function = leaf;
    if (subleaf) {
        entry.index = *subleaf;
        entry.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    }
    entries.push_back(entry);
    return entries.back();
}

// A leaf above the reported maximum is never asked for: raise the maximum.
void cover_leaf(std::vector<kvm_cpuid_entry2> &entries, uint32_t leaf)
{
    const uint32_t range = leaf & 0xffff0000u;
    if (leaf == range)
        return;
    kvm_cpuid_entry2 &maximum = find_or_add(entries, range, std::nullopt);
    maximum.eax = std::max(maximum.eax, leaf);
}

} // namespace

std::vector<kvm_cpuid_entry2> host_supported_cpuid()
{
    if (!KvmSystem::device_present())
        return {};
    try {
        return KvmSystem().supported_cpuid();
    } catch (const SystemError &) {
        return {};
    }
}

std::string check_cpuid_table_size(const std::vector<kvm_cpuid_entry2> &supported, const CpuidSpec &identity)
{
    const std::size_t size = cpuid_for_vcpu(supported, identity, 0).size();
    if (size <= kKvmMaxCpuidEntries)
        return "";
    return fmt::format("[cpu.cpuid]: too many CPUID leaves: KVM takes at most {} (KVM_MAX_CPUID_ENTRIES); the {} "
                       "overrides{} bring the {} leaves KVM supports on this host to {}",
                       kKvmMaxCpuidEntries, identity.overrides.size(), identity.brand ? " and the brand" : "",
                       supported.size(), size);
}

std::array<uint32_t, 12> brand_registers(const std::string &brand)
{
    char text[48] = {};
    std::memcpy(text, brand.data(), std::min<std::size_t>(brand.size(), 47));
    std::array<uint32_t, 12> registers{};
    std::memcpy(registers.data(), text, sizeof text);
    return registers;
}

std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(std::vector<kvm_cpuid_entry2> entries, const CpuidSpec &identity,
                                             uint32_t apic_id)
{
    if (identity.brand) {
        const std::array<uint32_t, 12> brand = brand_registers(*identity.brand);
        for (uint32_t i = 0; i < 3; ++i) {
            kvm_cpuid_entry2 &entry = find_or_add(entries, 0x80000002u + i, std::nullopt);
            entry.eax = brand[i * 4];
            entry.ebx = brand[i * 4 + 1];
            entry.ecx = brand[i * 4 + 2];
            entry.edx = brand[i * 4 + 3];
        }
        cover_leaf(entries, 0x80000004u);
    }
    for (const CpuidOverride &o : identity.overrides) {
        kvm_cpuid_entry2 &entry = find_or_add(entries, o.leaf, o.subleaf);
        if (o.eax)
            entry.eax = *o.eax;
        if (o.ebx)
            entry.ebx = *o.ebx;
        if (o.ecx)
            entry.ecx = *o.ecx;
        if (o.edx)
            entry.edx = *o.edx;
        cover_leaf(entries, o.leaf);
    }
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
