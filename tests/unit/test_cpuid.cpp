// CPUID identity: the brand string and overrides on top of KVM's entries,
// and each vCPU's own APIC ID.
#include "config/machine_spec.hpp"
#include "kvm/cpuid.hpp"

#include <catch2/catch.hpp>

#include <cstring>

using namespace vmm;

namespace {

kvm_cpuid_entry2 entry(uint32_t function, uint32_t eax, uint32_t ebx = 0, uint32_t ecx = 0, uint32_t edx = 0)
{
    kvm_cpuid_entry2 e{};
    e.function = function;
    e.eax = eax;
    e.ebx = ebx;
    e.ecx = ecx;
    e.edx = edx;
    return e;
}

const kvm_cpuid_entry2 *find(const std::vector<kvm_cpuid_entry2> &entries, uint32_t function, uint32_t index = 0)
{
    for (const kvm_cpuid_entry2 &e : entries) {
        if (e.function == function && (!(e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e.index == index))
            return &e;
    }
    return nullptr;
}

std::string brand_of(const std::vector<kvm_cpuid_entry2> &entries)
{
    char text[49] = {};
    for (uint32_t i = 0; i < 3; ++i) {
        const kvm_cpuid_entry2 *e = find(entries, 0x80000002u + i);
        REQUIRE(e != nullptr);
        const uint32_t regs[4] = {e->eax, e->ebx, e->ecx, e->edx};
        std::memcpy(text + i * 16, regs, 16);
    }
    return text;
}

} // namespace

TEST_CASE("the brand string replaces leaves 0x80000002-4", "[cpuid]")
{
    const std::vector<kvm_cpuid_entry2> kvm = {entry(0x0, 0xd), entry(0x1, 0x806c1, 0xff000800),
                                               entry(0x80000000, 0x80000008), entry(0x80000002, 1, 2, 3, 4)};
    CpuidSpec identity;
    identity.brand = "vmm virtual CPU";
    const auto entries = cpuid_for_vcpu(kvm, identity, 0);
    CHECK(brand_of(entries) == "vmm virtual CPU");
    CHECK(find(entries, 0x80000000)->eax == 0x80000008); // already covered
}

TEST_CASE("a 47-character brand fills the leaves and keeps its terminator", "[cpuid]")
{
    CpuidSpec identity;
    identity.brand = std::string(47, 'x');
    const auto entries = cpuid_for_vcpu({entry(0x80000000, 0x80000001)}, identity, 0);
    CHECK(brand_of(entries) == std::string(47, 'x'));
    // The maximum extended leaf grew so that a guest asks for the brand.
    CHECK(find(entries, 0x80000000)->eax == 0x80000004);
}

TEST_CASE("overrides replace the registers they name, adding leaves KVM lacks", "[cpuid]")
{
    CpuidSpec identity;
    CpuidOverride hypervisor;
    hypervisor.leaf = 0x40000000;
    hypervisor.eax = 0x40000001;
    hypervisor.ebx = 0x1234;
    CpuidOverride feature;
    feature.leaf = 0x1;
    feature.ecx = 0xabcd;
    identity.overrides = {hypervisor, feature};
    const auto entries = cpuid_for_vcpu({entry(0x0, 0xd), entry(0x1, 0x806c1, 0x800, 0x1, 0x2)}, identity, 3);

    const kvm_cpuid_entry2 *leaf1 = find(entries, 0x1);
    REQUIRE(leaf1);
    CHECK(leaf1->eax == 0x806c1); // untouched
    CHECK(leaf1->ecx == 0xabcd);  // overridden
    CHECK(leaf1->edx == 0x2);
    CHECK(leaf1->ebx >> 24 == 3); // the APIC ID is applied after overrides
    const kvm_cpuid_entry2 *added = find(entries, 0x40000000);
    REQUIRE(added);
    CHECK(added->eax == 0x40000001);
    CHECK(added->ebx == 0x1234);
}

TEST_CASE("every vCPU gets its own APIC ID", "[cpuid]")
{
    kvm_cpuid_entry2 topology = entry(0xb, 1, 1, 0x100, 0);
    topology.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    const std::vector<kvm_cpuid_entry2> kvm = {entry(0x1, 0x806c1, 0x00000800), topology};
    for (uint32_t id = 0; id < 4; ++id) {
        const auto entries = cpuid_for_vcpu(kvm, {}, id);
        CHECK(find(entries, 0x1)->ebx == (0x800 | (id << 24)));
        CHECK(find(entries, 0xb)->edx == id);
    }
}

// KVM_SET_CPUID2 takes at most KVM_MAX_CPUID_ENTRIES (256): what KVM
// supports plus the leaves the machine file adds must fit, or the machine
// failed later with a bare "Argument list too long".
TEST_CASE("the CPUID table must fit in KVM_MAX_CPUID_ENTRIES, counting KVM's leaves and the new ones", "[cpuid]")
{
    std::vector<kvm_cpuid_entry2> supported;
    for (uint32_t leaf = 0; leaf < 200; ++leaf) {
        kvm_cpuid_entry2 entry{};
        entry.function = leaf;
        supported.push_back(entry);
    }
    CpuidSpec identity;
    for (uint32_t i = 0; i < 56; ++i) // 200 + 56 new leaves + their range's maximum (0x40000000) = 257
        identity.overrides.push_back(CpuidOverride{0x40000001u + i, std::nullopt, 1u});
    CHECK(check_cpuid_table_size(supported, identity) ==
          "[cpu.cpuid]: too many CPUID leaves: KVM takes at most 256 (KVM_MAX_CPUID_ENTRIES); the 56 overrides bring "
          "the 200 leaves KVM supports on this host to 257");
    identity.overrides.pop_back();
    CHECK(check_cpuid_table_size(supported, identity) == "");
    // Overrides of leaves KVM already has add nothing.
    CpuidSpec same;
    for (uint32_t leaf = 0; leaf < 200; ++leaf)
        same.overrides.push_back(CpuidOverride{leaf, std::nullopt, 1u});
    CHECK(check_cpuid_table_size(supported, same) == "");
    // Without /dev/kvm the overrides alone are counted.
    CpuidSpec many;
    for (uint32_t i = 0; i < 300; ++i)
        many.overrides.push_back(CpuidOverride{0x40000100u + i, std::nullopt, 1u});
    CHECK_THAT(check_cpuid_table_size({}, many), Catch::StartsWith("[cpu.cpuid]: too many CPUID leaves"));
}
