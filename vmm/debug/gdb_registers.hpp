// The registers gdb sees, in the order of our target description
// (target.xml): gdb's i386:x86-64 core (general, rip, eflags, segment
// selectors, x87), sse (xmm0-15, mxcsr), segments (fs_base, gs_base) and a
// feature of our own for the control registers (cr0, cr2, cr3, cr4, cr8,
// efer) so that `p $cr3` works. The register number in p/P is the index in
// this order.
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vmm::gdb {

// Which description gdb gets: chosen when a debugger attaches, from the
// boot vCPU's mode then (gdb cannot change it mid-session). i386 has gdb's
// 32-bit order (eax, ecx, edx, ebx, esp, ebp, esi, edi, eip, ...) and
// xmm0-7. i8086 (real mode) is i386's register set, described as i8086 so
// that gdb decodes 16-bit code (`x/i $pc`).
enum class Arch { x86_64, i386, i8086 };

// One vCPU's state as KVM gives it.
struct RegisterFile {
    kvm_regs regs{};
    kvm_sregs sregs{};
    kvm_fpu fpu{};
};

std::size_t register_count(Arch arch);
// Size in bytes of register `number`, or 0 if there is no such register.
std::size_t register_size(Arch arch, std::size_t number);
std::string_view register_name(Arch arch, std::size_t number);

// The register's bytes, little-endian as gdb wants them.
std::optional<std::vector<uint8_t>> read_register(Arch arch, const RegisterFile &file, std::size_t number);
// Writes a register. Returns an error text when the register does not
// exist, the size is wrong, or the value cannot be set (a segment selector
// outside real mode: its descriptor would have to be loaded too).
std::optional<std::string> write_register(Arch arch, RegisterFile &file, std::size_t number, std::span<const uint8_t> bytes);

// Every register, concatenated (the g packet).
std::vector<uint8_t> read_all(Arch arch, const RegisterFile &file);
// The G packet: a prefix of the registers (gdb may send fewer).
std::optional<std::string> write_all(Arch arch, RegisterFile &file, std::span<const uint8_t> bytes);

// The target description, whole.
const std::string &target_xml(Arch arch);

} // namespace vmm::gdb
