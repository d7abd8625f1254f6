#include "core/vcpu_report.hpp"

#include <fmt/format.h>

namespace vmm {
namespace {

std::string segment(const char *name, const kvm_segment &s)
{
    return fmt::format("  {:<3} sel={:04x} base={:016x} limit={:08x} type={:x} dpl={} db={} l={} p={}\n", name,
                       s.selector, s.base, s.limit, s.type, s.dpl, s.db, s.l, s.present);
}

} // namespace

std::string format_registers(const kvm_regs &r, const kvm_sregs &s)
{
    std::string text;
    text += fmt::format("  rax={:016x} rbx={:016x} rcx={:016x} rdx={:016x}\n", r.rax, r.rbx, r.rcx, r.rdx);
    text += fmt::format("  rsi={:016x} rdi={:016x} rsp={:016x} rbp={:016x}\n", r.rsi, r.rdi, r.rsp, r.rbp);
    text += fmt::format("  r8 ={:016x} r9 ={:016x} r10={:016x} r11={:016x}\n", r.r8, r.r9, r.r10, r.r11);
    text += fmt::format("  r12={:016x} r13={:016x} r14={:016x} r15={:016x}\n", r.r12, r.r13, r.r14, r.r15);
    text += fmt::format("  rip={:016x} rflags={:08x}\n", r.rip, r.rflags);
    text += segment("cs", s.cs);
    text += segment("ds", s.ds);
    text += segment("es", s.es);
    text += segment("ss", s.ss);
    text += segment("fs", s.fs);
    text += segment("gs", s.gs);
    text += fmt::format("  cr0={:016x} cr2={:016x} cr3={:016x} cr4={:016x} efer={:x}", s.cr0, s.cr2, s.cr3, s.cr4,
                        s.efer);
    return text;
}

} // namespace vmm
