#include "core/user_mode_trap.hpp"

#include <fmt/format.h>

#include <array>

namespace vmm {
namespace {

constexpr uint32_t kInvalidOpcode = 6, kGeneralProtection = 13, kPageFault = 14;
constexpr uint8_t kHltOpcode = 0xf4, kIntOpcode = 0xcd;

struct Frame {
    uint64_t vector, error_code, rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(Frame) == x86::user::kFrameBytes);

kvm_segment user_segment(uint16_t selector, bool code)
{
    kvm_segment s{};
    s.limit = 0xffffffff;
    s.selector = selector;
    s.type = code ? 0xb : 0x3;
    s.present = 1;
    s.dpl = 3;
    s.db = code ? 0 : 1;
    s.s = 1;
    s.l = code ? 1 : 0;
    s.g = 1;
    return s;
}

bool is_hlt(const GuestMemory &memory, uint64_t rip)
{
    uint8_t opcode = 0;
    return memory.read(rip, &opcode, 1) && opcode == kHltOpcode; // identity-mapped: virtual = physical
}

bool is_int_n(const GuestMemory &memory, uint64_t rip)
{
    uint8_t opcode = 0;
    return memory.read(rip, &opcode, 1) && opcode == kIntOpcode;
}

} // namespace

std::string exception_name(uint32_t vector)
{
    static constexpr std::array<const char *, 22> names = {
        "#DE (divide error)",        "#DB (debug)",
        "NMI",                       "#BP (breakpoint)",
        "#OF (overflow)",            "#BR (bound range exceeded)",
        "#UD (invalid opcode)",      "#NM (device not available)",
        "#DF (double fault)",        "coprocessor segment overrun",
        "#TS (invalid TSS)",         "#NP (segment not present)",
        "#SS (stack-segment fault)", "#GP (general protection)",
        "#PF (page fault)",          "vector 15 (reserved)",
        "#MF (x87 floating-point)",  "#AC (alignment check)",
        "#MC (machine check)",       "#XM (SIMD floating-point)",
        "#VE (virtualization)",      "#CP (control protection)",
    };
    if (vector < names.size())
        return names[vector];
    return fmt::format("vector {} (reserved)", vector);
}

UserTrap take_user_trap(const UserModeTraps &traps, Vcpu &vcpu)
{
    UserTrap trap;
    kvm_regs regs = vcpu.regs();
    kvm_sregs sregs = vcpu.sregs();
    const x86::user::Layout &layout = traps.layout;
    const uint64_t stubs = layout.stub(0), stubs_end = layout.stub(x86::user::kVectors);
    // KVM reports HLT with RIP after it.
    if (sregs.cs.dpl != 0 || regs.rip == 0 || regs.rip - 1 < stubs || regs.rip - 1 >= stubs_end)
        return trap;

    const uint32_t index = vcpu.index();
    const uint64_t frame_address = layout.handler_stack_top(index) - x86::user::kFrameBytes;
    Frame frame{};
    trap.kind = UserTrap::Kind::exception;
    if (index >= layout.vcpus() || regs.rsp != frame_address || !traps.memory.read(frame_address, &frame, sizeof frame) ||
        frame.vector != (regs.rip - 1 - stubs) / x86::user::kStubBytes || (frame.cs & 3) != 3) {
        // Only an exception inside the handler itself gets here (say, a
        // guest whose handler stack was unusable): the frame cannot be trusted.
        trap.vector = static_cast<uint32_t>((regs.rip - 1 - stubs) / x86::user::kStubBytes);
        trap.rip = regs.rip;
        trap.detail = fmt::format("{} inside the VMM's user-mode exception handler (rsp {:#x}, expected {:#x})",
                                  exception_name(trap.vector), regs.rsp, frame_address);
        return trap;
    }

    trap.vector = static_cast<uint32_t>(frame.vector);
    trap.error_code = frame.error_code;
    trap.rip = frame.rip;
    regs.rip = frame.rip;
    regs.rsp = frame.rsp;
    regs.rflags = frame.rflags;
    sregs.cs = user_segment(x86::user::kUserCodeSelector, true);
    sregs.ss = user_segment(x86::user::kUserDataSelector, false);
    if (trap.vector == kGeneralProtection && trap.error_code == 0 && is_hlt(traps.memory, frame.rip)) {
        trap.kind = UserTrap::Kind::halt;
        regs.rip = frame.rip + 1; // where a HLT exit leaves it in long mode
    } else {
        if (trap.vector == kPageFault)
            trap.cr2 = sregs.cr2;
        std::string details;
        if (x86::user::has_error_code(trap.vector))
            details += fmt::format(", error code {:#x}", trap.error_code);
        if (trap.vector == kPageFault)
            details += fmt::format(", address (cr2) {:#x}", trap.cr2);
        if (trap.vector == kInvalidOpcode && is_int_n(traps.memory, frame.rip))
            details += " (an INT n instruction: on kvm_pvm hosts INT n from CPL 3 raises #UD)";
        trap.detail = fmt::format("the guest raised {}, vector {}, at CPL 3 at rip {:#x}{}", exception_name(trap.vector),
                                  trap.vector, trap.rip, details);
    }
    vcpu.set_regs(regs);
    vcpu.set_sregs(sregs);
    return trap;
}

} // namespace vmm
