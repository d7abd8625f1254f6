#include "core/exit_reasons.hpp"

#include <linux/kvm.h>

#include <array>
#include <string_view>

namespace vmm {
namespace {

struct Named {
    uint32_t reason;
    std::string_view name;
};

constexpr std::array kNames = {
    Named{KVM_EXIT_UNKNOWN, "UNKNOWN"},
    Named{KVM_EXIT_EXCEPTION, "EXCEPTION"},
    Named{KVM_EXIT_IO, "IO"},
    Named{KVM_EXIT_HYPERCALL, "HYPERCALL"},
    Named{KVM_EXIT_DEBUG, "DEBUG"},
    Named{KVM_EXIT_HLT, "HLT"},
    Named{KVM_EXIT_MMIO, "MMIO"},
    Named{KVM_EXIT_IRQ_WINDOW_OPEN, "IRQ_WINDOW_OPEN"},
    Named{KVM_EXIT_SHUTDOWN, "SHUTDOWN"},
    Named{KVM_EXIT_FAIL_ENTRY, "FAIL_ENTRY"},
    Named{KVM_EXIT_INTR, "INTR"},
    Named{KVM_EXIT_SET_TPR, "SET_TPR"},
    Named{KVM_EXIT_TPR_ACCESS, "TPR_ACCESS"},
    Named{KVM_EXIT_NMI, "NMI"},
    Named{KVM_EXIT_INTERNAL_ERROR, "INTERNAL_ERROR"},
    Named{KVM_EXIT_OSI, "OSI"},
    Named{KVM_EXIT_PAPR_HCALL, "PAPR_HCALL"},
    Named{KVM_EXIT_WATCHDOG, "WATCHDOG"},
    Named{KVM_EXIT_EPR, "EPR"},
    Named{KVM_EXIT_SYSTEM_EVENT, "SYSTEM_EVENT"},
    Named{KVM_EXIT_IOAPIC_EOI, "IOAPIC_EOI"},
    Named{KVM_EXIT_HYPERV, "HYPERV"},
    Named{KVM_EXIT_X86_RDMSR, "X86_RDMSR"},
    Named{KVM_EXIT_X86_WRMSR, "X86_WRMSR"},
    Named{KVM_EXIT_DIRTY_RING_FULL, "DIRTY_RING_FULL"},
    Named{KVM_EXIT_AP_RESET_HOLD, "AP_RESET_HOLD"},
    Named{KVM_EXIT_X86_BUS_LOCK, "X86_BUS_LOCK"},
};

} // namespace

const char *exit_reason_label(uint32_t reason)
{
    for (const Named &named : kNames) {
        if (named.reason == reason)
            return named.name.data(); // the literals are NUL-terminated
    }
    return "UNKNOWN";
}

std::string exit_reason_name(uint32_t reason)
{
    for (const Named &named : kNames) {
        if (named.reason == reason)
            return std::string(named.name);
    }
    return "UNKNOWN(" + std::to_string(reason) + ")";
}

} // namespace vmm
