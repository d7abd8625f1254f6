#include "core/report.hpp"

#include "core/exit_reasons.hpp"
#include "core/run_facts.hpp"
#include "kvm/registers.hpp"

#include <nlohmann/json.hpp>


namespace vmm {
namespace {

// Keys in the order written, which reads better than sorted.
using json = nlohmann::ordered_json;

json exits_json(const std::array<uint64_t, kExitReasonSlots> &counts)
{
    json by_reason = json::object();
    for (std::size_t reason = 0; reason < counts.size(); ++reason) {
        if (counts[reason] != 0)
            by_reason[reason + 1 == counts.size() ? "OTHER" : exit_reason_name(static_cast<uint32_t>(reason))] =
                counts[reason];
    }
    return by_reason;
}

json segment_json(const kvm_segment &s)
{
    return json{{"selector", s.selector}, {"base", s.base}, {"limit", s.limit}, {"type", s.type}, {"l", s.l}, {"db", s.db}};
}

json vcpu_json(const VcpuOutcome &vcpu)
{
    json j{{"index", vcpu.index},
           {"end", vcpu_end_name(vcpu.end)},
           {"last_exit_reason", exit_reason_name(vcpu.last_exit_reason)},
           {"exits", vcpu.exits},
           {"exits_by_reason", exits_json(vcpu.exits_by_reason)}};
    if (!vcpu.detail.empty())
        j["detail"] = vcpu.detail;
    if (vcpu.user_exception) {
        j["exception"] = json{{"vector", vcpu.exception_vector},
                              {"name", exception_name(vcpu.exception_vector)},
                              {"error_code", vcpu.exception_error_code},
                              {"rip", vcpu.exception_rip},
                              {"cr2", vcpu.exception_cr2}};
    }
    if (vcpu.state_valid) {
        json registers = json::object();
        for (std::string_view name : kRegisterNames)
            registers[std::string(name)] = *register_value(vcpu.regs, name);
        const kvm_sregs &s = vcpu.sregs;
        registers["cr0"] = s.cr0;
        registers["cr2"] = s.cr2;
        registers["cr3"] = s.cr3;
        registers["cr4"] = s.cr4;
        registers["efer"] = s.efer;
        j["registers"] = registers;
        j["segments"] = json{{"cs", segment_json(s.cs)}, {"ds", segment_json(s.ds)}, {"ss", segment_json(s.ss)}};
    }
    return j;
}

} // namespace

std::string report_json(const MachineSpec &spec, const RunResult &result, const std::vector<CheckResult> &checks,
                        const RunFacts *facts)
{
    std::array<uint64_t, kExitReasonSlots> totals{};
    uint64_t total = 0;
    json vcpus = json::array();
    for (const VcpuOutcome &vcpu : result.vcpus) {
        for (std::size_t i = 0; i < totals.size(); ++i)
            totals[i] += vcpu.exits_by_reason[i];
        total += vcpu.exits;
        vcpus.push_back(vcpu_json(vcpu));
    }
    json check_list = json::array();
    for (const CheckResult &check : checks) {
        json c{{"check", check.what}, {"expected", check.expected}, {"passed", check.passed}};
        if (check.actual)
            c["actual"] = *check.actual;
        else
            c["problem"] = check.problem;
        check_list.push_back(c);
    }
    json report{
        {"machine", spec.name},
        {"file", spec.file.string()},
        {"exit_status", result.exit_status},
        {"stop", {{"cause", stop_cause_name(result.cause)}, {"reason", result.reason}}},
        {"exits", {{"total", total}, {"by_reason", exits_json(totals)}}},
        {"vcpus", vcpus},
        {"checks", check_list},
    };
    if (facts != nullptr) {
        const json more = facts->to_json();
        for (const auto &[key, value] : more.items())
            report[key] = value;
    }
    return report.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

} // namespace vmm
