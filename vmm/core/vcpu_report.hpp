// Human-readable vCPU state, for fatal-exit reports and the end-of-run summary.
#pragma once

#include <linux/kvm.h>

#include <string>

namespace vmm {

// A multi-line dump: general-purpose registers, segments, control registers.
std::string format_registers(const kvm_regs &regs, const kvm_sregs &sregs);

} // namespace vmm
