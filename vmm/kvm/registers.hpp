// General-purpose registers by name ("rax", ..., "r15", "rip", "rflags").
#pragma once

#include <linux/kvm.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vmm {

inline constexpr std::array<std::string_view, 18> kRegisterNames = {
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8",
    "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags",
};

// A pointer to the register in `regs`, or nullptr for an unknown name.
__u64 *register_slot(kvm_regs &regs, std::string_view name);
std::optional<uint64_t> register_value(const kvm_regs &regs, std::string_view name);

} // namespace vmm
