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

// One vCPU's state as KVM gives it.
struct RegisterFile {
    kvm_regs regs{};
    kvm_sregs sregs{};
    kvm_fpu fpu{};
};

std::size_t register_count();
// Size in bytes of register `number`, or 0 if there is no such register.
std::size_t register_size(std::size_t number);
std::string_view register_name(std::size_t number);

// The register's bytes, little-endian as gdb wants them.
std::optional<std::vector<uint8_t>> read_register(const RegisterFile &file, std::size_t number);
// Writes a register. Returns an error text when the register does not
// exist, the size is wrong, or the value cannot be set (a segment selector
// outside real mode: its descriptor would have to be loaded too).
std::optional<std::string> write_register(RegisterFile &file, std::size_t number, std::span<const uint8_t> bytes);

// Every register, concatenated (the g packet).
std::vector<uint8_t> read_all(const RegisterFile &file);
// The G packet: a prefix of the registers (gdb may send fewer).
std::optional<std::string> write_all(RegisterFile &file, std::span<const uint8_t> bytes);

// The target description, whole.
const std::string &target_xml();

} // namespace vmm::gdb
