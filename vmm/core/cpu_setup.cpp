#include "core/cpu_setup.hpp"

#include "support/errors.hpp"

#include <fmt/format.h>

namespace vmm {
namespace {

constexpr uint64_t kRflagsReserved = 0x2; // bit 1 is always set

__u64 *register_slot(kvm_regs &regs, const std::string &name)
{
    struct Slot {
        const char *name;
        __u64 kvm_regs::*member;
    };
    static constexpr Slot kSlots[] = {
        {"rax", &kvm_regs::rax},
        {"rbx", &kvm_regs::rbx},
        {"rcx", &kvm_regs::rcx},
        {"rdx", &kvm_regs::rdx},
        {"rsi", &kvm_regs::rsi},
        {"rdi", &kvm_regs::rdi},
        {"rsp", &kvm_regs::rsp},
        {"rbp", &kvm_regs::rbp},
        {"r8", &kvm_regs::r8},
        {"r9", &kvm_regs::r9},
        {"r10", &kvm_regs::r10},
        {"r11", &kvm_regs::r11},
        {"r12", &kvm_regs::r12},
        {"r13", &kvm_regs::r13},
        {"r14", &kvm_regs::r14},
        {"r15", &kvm_regs::r15},
        {"rflags", &kvm_regs::rflags},
    };
    for (const Slot &slot : kSlots) {
        if (name == slot.name)
            return &(regs.*slot.member);
    }
    return nullptr;
}

void setup_real_mode(Vcpu &vcpu, uint64_t entry)
{
    // Real mode reaches 1 MiB (plus the HMA): CS:IP with IP < 64 KiB.
    if (entry >= 0x100000)
        throw InputError(fmt::format("entry {:#x} is beyond the 1 MiB real mode can reach", entry));
    kvm_sregs sregs = vcpu.sregs();
    const uint16_t segment = static_cast<uint16_t>((entry >> 4) & 0xf000);
    sregs.cs.selector = segment;
    sregs.cs.base = uint64_t{segment} << 4;
    for (kvm_segment *s : {&sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss}) {
        s->selector = 0;
        s->base = 0;
    }
    vcpu.set_sregs(sregs);

    kvm_regs regs{};
    regs.rip = entry - sregs.cs.base;
    regs.rflags = kRflagsReserved;
    vcpu.set_regs(regs);
}

} // namespace

void setup_cpu(Vcpu &vcpu, const CpuSpec &cpu, std::optional<uint64_t> entry)
{
    switch (cpu.mode) {
    case CpuMode::reset:
        return; // KVM created the vCPU in its reset state: CS:IP = f000:fff0
    case CpuMode::real:
        setup_real_mode(vcpu, entry.value_or(0));
        break;
    }
    if (cpu.registers.empty())
        return;
    kvm_regs regs = vcpu.regs();
    for (const RegisterSetting &setting : cpu.registers) {
        __u64 *slot = register_slot(regs, setting.name);
        if (slot == nullptr)
            throw InputError(setting.where, "unknown register '" + setting.name + "'");
        *slot = setting.name == "rflags" ? (setting.value | kRflagsReserved) : setting.value;
    }
    vcpu.set_regs(regs);
}

} // namespace vmm
