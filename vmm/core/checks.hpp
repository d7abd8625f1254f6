// Checks on a machine's final state, as its [[check]] entries ask.
#pragma once

#include "config/machine_spec.hpp"
#include "core/vcpu_loop.hpp"
#include "kvm/guest_memory.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vmm {

struct CheckResult {
    std::string what; // "rax of vcpu 0", "u32 at 0x400"
    uint64_t expected = 0;
    std::optional<uint64_t> actual; // absent when the value could not be read
    std::string problem;            // why it could not be read
    bool passed = false;
    SourceLocation where;

    // "check rax of vcpu 0 = 0x2a: ok" / "...: expected 0x2a, got 0x0"
    std::string describe() const;
};

std::vector<CheckResult> evaluate_checks(const std::vector<CheckSpec> &checks, const std::vector<VcpuOutcome> &vcpus,
                                         const GuestMemory &memory);

} // namespace vmm
