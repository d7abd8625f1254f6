#include "kvm/registers.hpp"

namespace vmm {

__u64 *register_slot(kvm_regs &regs, std::string_view name)
{
    struct Slot {
        std::string_view name;
        __u64 kvm_regs::*member;
    };
    static constexpr Slot kSlots[] = {
        {"rax", &kvm_regs::rax}, {"rbx", &kvm_regs::rbx}, {"rcx", &kvm_regs::rcx},       {"rdx", &kvm_regs::rdx},
        {"rsi", &kvm_regs::rsi}, {"rdi", &kvm_regs::rdi}, {"rsp", &kvm_regs::rsp},       {"rbp", &kvm_regs::rbp},
        {"r8", &kvm_regs::r8},   {"r9", &kvm_regs::r9},   {"r10", &kvm_regs::r10},       {"r11", &kvm_regs::r11},
        {"r12", &kvm_regs::r12}, {"r13", &kvm_regs::r13}, {"r14", &kvm_regs::r14},       {"r15", &kvm_regs::r15},
        {"rip", &kvm_regs::rip}, {"rflags", &kvm_regs::rflags},
    };
    for (const Slot &slot : kSlots) {
        if (name == slot.name)
            return &(regs.*slot.member);
    }
    return nullptr;
}

std::optional<uint64_t> register_value(const kvm_regs &regs, std::string_view name)
{
    kvm_regs copy = regs;
    const __u64 *slot = register_slot(copy, name);
    return slot ? std::optional<uint64_t>(*slot) : std::nullopt;
}

} // namespace vmm
