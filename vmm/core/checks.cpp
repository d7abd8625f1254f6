#include "core/checks.hpp"

#include "kvm/registers.hpp"

#include <fmt/format.h>

namespace vmm {

std::string CheckResult::describe() const
{
    if (passed)
        return fmt::format("check {} = {:#x}: ok", what, expected);
    if (!actual)
        return fmt::format("check {}: expected {:#x}, but {} (at {})", what, expected, problem, where.str());
    return fmt::format("check {}: expected {:#x}, got {:#x} (at {})", what, expected, *actual, where.str());
}

std::vector<CheckResult> evaluate_checks(const std::vector<CheckSpec> &checks, const std::vector<VcpuOutcome> &vcpus,
                                         const GuestMemory &memory)
{
    std::vector<CheckResult> results;
    for (const CheckSpec &check : checks) {
        CheckResult result;
        result.expected = check.expected;
        result.where = check.where;
        if (check.kind == CheckSpec::Kind::register_value) {
            result.what = fmt::format("{} of vcpu {}", check.register_name, check.vcpu);
            if (check.vcpu >= vcpus.size() || !vcpus[check.vcpu].state_valid)
                result.problem = "the vCPU's registers could not be read";
            else
                result.actual = register_value(vcpus[check.vcpu].regs, check.register_name);
        } else {
            result.what = fmt::format("u{} at {:#x}", check.width * 8, check.address);
            uint64_t value = 0; // little-endian: the low bytes are the value
            if (memory.read(check.address, &value, check.width))
                result.actual = value;
            else
                result.problem = fmt::format("{} byte(s) at {:#x} are not in guest memory", check.width, check.address);
        }
        result.passed = result.actual && *result.actual == result.expected;
        results.push_back(std::move(result));
    }
    return results;
}

} // namespace vmm
