#include "core/cpu_setup.hpp"

#include "boot/multiboot.hpp"
#include "boot/user_mode_tables.hpp"
#include "boot/x86_tables.hpp"
#include "kvm/registers.hpp"
#include "support/errors.hpp"

#include <fmt/format.h>

namespace vmm {
namespace {

constexpr uint64_t kRflagsReserved = 0x2; // bit 1 is always set

// Real mode reaches 1 MiB: CS:IP with IP < 64 KiB. Returns CS's base.
uint64_t setup_real_mode(kvm_sregs &sregs, uint64_t entry)
{
    const uint16_t segment = static_cast<uint16_t>((entry >> 4) & 0xf000);
    sregs.cs.selector = segment;
    sregs.cs.base = uint64_t{segment} << 4;
    for (kvm_segment *s : {&sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss}) {
        s->selector = 0;
        s->base = 0;
    }
    return sregs.cs.base;
}

kvm_segment flat_segment(uint16_t selector, bool code, bool long_mode)
{
    kvm_segment s{};
    s.base = 0;
    s.limit = 0xffffffff;
    s.selector = selector;
    s.type = code ? 0xb : 0x3; // execute/read or read/write, accessed
    s.present = 1;
    s.dpl = 0;
    s.db = code && long_mode ? 0 : 1;
    s.s = 1;
    s.l = code && long_mode ? 1 : 0;
    s.g = 1;
    return s;
}

// Flat segments from the VMM's GDT; paging and long mode as asked.
void setup_flat_mode(kvm_sregs &sregs, uint64_t system_area, bool long_mode)
{
    sregs.cs = flat_segment(x86::kCodeSelector, true, long_mode);
    const kvm_segment data = flat_segment(x86::kDataSelector, false, long_mode);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    sregs.gdt.base = system_area;
    sregs.gdt.limit = x86::kGdtEntries * 8 - 1;
    // No IDT: any exception in the guest ends in a triple fault, which the
    // VMM reports, rather than in a jump through garbage.
    sregs.idt.base = 0;
    sregs.idt.limit = 0;
    if (long_mode) {
        sregs.cr3 = system_area + 0x1000;
        sregs.cr4 = x86::kCr4Pae | x86::kCr4Osfxsr | x86::kCr4Osxmmexcpt;
        sregs.efer = x86::kEferLme | x86::kEferLma;
        sregs.cr0 = x86::kCr0Pe | x86::kCr0Mp | x86::kCr0Et | x86::kCr0Ne | x86::kCr0Wp | x86::kCr0Pg;
    } else {
        sregs.cr3 = 0;
        sregs.cr4 = 0;
        sregs.efer = 0;
        sregs.cr0 = x86::kCr0Pe | x86::kCr0Et | x86::kCr0Ne;
    }
}

// Long mode at CPL 3 on the tables of boot/user_mode_tables.hpp: user
// segments, the vCPU's own TSS (its handler stack, the I/O bitmap) and the
// VMM's IDT. TR is set directly; the GDT's TSS descriptor serves a guest
// that reloads TR itself (it cannot: LTR is privileged).
void setup_user_mode(kvm_sregs &sregs, const BootLayout &boot, uint32_t vcpus, uint32_t index)
{
    setup_flat_mode(sregs, boot.system_area.value_or(0), true);
    const x86::user::Layout layout(boot.system_area.value_or(0), boot.mapped_gib, vcpus);
    sregs.cs = flat_segment(x86::user::kUserCodeSelector, true, true);
    sregs.cs.dpl = 3;
    kvm_segment data = flat_segment(x86::user::kUserDataSelector, false, true);
    data.dpl = 3;
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    sregs.gdt.base = layout.gdt();
    sregs.gdt.limit = x86::user::kGdtBytes - 1;
    sregs.idt.base = layout.idt();
    sregs.idt.limit = x86::user::kVectors * 16 - 1;
    sregs.cr3 = layout.pml4();
    kvm_segment tr{};
    tr.base = layout.tss(index);
    tr.limit = layout.tss_limit(index);
    tr.selector = x86::user::kTssSelector;
    tr.type = 0xb; // 64-bit TSS, busy
    tr.present = 1;
    sregs.tr = tr;
}

} // namespace

void setup_cpu(Vcpu &vcpu, const MachineSpec &spec, const BootLayout &boot, uint32_t index)
{
    if (boot.mode == CpuMode::reset)
        return; // KVM created the vCPU in its reset state: CS:IP = f000:fff0
    if (spec.irqchip && index != 0)
        return; // an application processor: it waits for INIT/SIPI

    const uint64_t entry = boot.entry.value_or(0);
    kvm_sregs sregs = vcpu.sregs();
    uint64_t code_base = 0;
    switch (boot.mode) {
    case CpuMode::real: code_base = setup_real_mode(sregs, entry); break;
    case CpuMode::protected32: setup_flat_mode(sregs, boot.system_area.value_or(0), false); break;
    case CpuMode::long64: setup_flat_mode(sregs, boot.system_area.value_or(0), true); break;
    case CpuMode::user64: setup_user_mode(sregs, boot, spec.vcpus, index); break;
    case CpuMode::reset: break;
    }
    vcpu.set_sregs(sregs);

    kvm_regs regs{};
    regs.rip = entry - code_base;
    regs.rflags = kRflagsReserved;
    for (const RegisterSetting &setting : spec.cpu.registers) {
        __u64 *slot = register_slot(regs, setting.name);
        if (slot == nullptr)
            throw InputError(setting.where, "unknown register '" + setting.name + "'");
        *slot = setting.name == "rflags" ? (setting.value | kRflagsReserved) : setting.value;
    }
    // Each vCPU its own stack, below the previous one's.
    regs.rsp = boot.stack_top - uint64_t{index} * spec.cpu.stack_size;
    if (boot.mode == CpuMode::real)
        regs.rsp &= 0xffff;
    if (spec.vcpus > 1)
        *register_slot(regs, spec.cpu.index_register) = index;
    if (boot.multiboot_info) {
        regs.rax = multiboot::kBootMagic;
        regs.rbx = *boot.multiboot_info;
    }
    vcpu.set_regs(regs);
}

} // namespace vmm
