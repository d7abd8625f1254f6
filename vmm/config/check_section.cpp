// [[check]]: expected registers of a vCPU or memory values of a given width,
// compared with the final state when the VM stops.

#include "config/machine_parser.hpp"

#include <fmt/format.h>

namespace vmm {

void MachineParser::parse_checks(TableReader &top)
{
    for_each_table(top.array("check"), "check", "([[check]])",
                   [&](const toml::table &table, const std::string &context, const toml::node &) {
                       parse_check(table, context);
                   });
}

void MachineParser::parse_check(const toml::table &table, const std::string &context)
{
    TableReader reader(table, context, diagnostics_);
    CheckSpec check;
    check.where = reader.where();
    const bool has_register = reader.has("register");
    const bool has_memory = reader.has("memory");
    if (has_register == has_memory) {
        diagnostics_.error(check.where, context + ": give either `register` or `memory`");
        reader.node("register");
        reader.node("memory");
    } else if (has_register) {
        check.kind = CheckSpec::Kind::register_value;
        if (auto name = reader.string("register")) {
            if (!is_register(*name))
                diagnostics_.error(reader.where("register"),
                                   fmt::format("{}: unknown register \"{}\" (rax..r15, rsp, rbp, rip, rflags)",
                                               context, *name));
            check.register_name = *name;
        }
        if (auto vcpu = reader.unsigned_integer("vcpu")) {
            if (*vcpu >= spec_.vcpus)
                diagnostics_.error(reader.where("vcpu"), fmt::format("{}: vcpu {} does not exist (the machine has {})",
                                                                     context, *vcpu, spec_.vcpus));
            else
                check.vcpu = static_cast<uint32_t>(*vcpu);
        }
    } else {
        check.kind = CheckSpec::Kind::memory_value;
        check.address = reader.unsigned_integer("memory").value_or(0);
        if (auto width = reader.unsigned_integer("width", true)) {
            if (*width != 1 && *width != 2 && *width != 4 && *width != 8)
                diagnostics_.error(reader.where("width"),
                                   fmt::format("{}: width = {} must be 1, 2, 4 or 8 (bytes)", context, *width));
            else
                check.width = static_cast<uint32_t>(*width);
        }
    }
    if (auto expected = reader.integer("equals", true)) {
        check.expected = static_cast<uint64_t>(*expected);
        if (check.kind == CheckSpec::Kind::memory_value && check.width > 0 && check.width < 8 &&
            check.expected >> (8 * check.width) != 0 && *expected >= 0)
            diagnostics_.error(reader.where("equals"), fmt::format("{}: {} does not fit in {} byte(s)", context,
                                                                   *expected, check.width));
        if (check.kind == CheckSpec::Kind::memory_value && check.width > 0 && check.width < 8 && *expected < 0)
            check.expected &= (uint64_t{1} << (8 * check.width)) - 1; // a negative value in `width` bytes
    }
    reader.reject_unknown_keys();
    spec_.checks.push_back(std::move(check));
}

} // namespace vmm
