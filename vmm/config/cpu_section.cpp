// [cpu]: the start mode, entry, stack, page tables, the register that holds
// each vCPU's index, initial registers ([cpu.registers]) and the CPUID
// identity ([cpu.cpuid]: brand string and leaf overrides).

#include "config/machine_parser.hpp"
#include "kvm/registers.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vmm {

void MachineParser::parse_cpu(TableReader &top)
{
    const toml::table *table = top.subtable("cpu");
    if (table == nullptr)
        return;
    TableReader cpu(*table, "[cpu]", diagnostics_);
    CpuSpec &spec = spec_.cpu;
    spec.where = cpu.where();
    spec.mode_where = cpu.where("mode");
    if (auto mode = cpu.string("mode")) {
        spec.mode_given = true;
        if (*mode == "real")
            spec.mode = CpuMode::real;
        else if (*mode == "protected")
            spec.mode = CpuMode::protected32;
        else if (*mode == "long")
            spec.mode = CpuMode::long64;
        else if (*mode == "user")
            spec.mode = CpuMode::user64;
        else if (*mode == "reset")
            spec.mode = CpuMode::reset;
        else
            diagnostics_.error(spec.mode_where, fmt::format("[cpu]: unknown mode \"{}\" (expected \"real\", "
                                                            "\"protected\", \"long\", \"user\" or \"reset\")",
                                                            *mode));
    }
    spec.entry_where = cpu.where("entry");
    spec.entry = cpu.unsigned_integer("entry");
    spec.page_tables_where = cpu.where("page_tables");
    spec.page_tables = cpu.unsigned_integer("page_tables");
    if (spec.page_tables && *spec.page_tables % kPageSize != 0) {
        diagnostics_.error(spec.page_tables_where,
                           fmt::format("[cpu]: page_tables = {:#x} must be 4 KiB aligned", *spec.page_tables));
    }
    if (auto stack = cpu.byte_size("stack_size")) {
        if (*stack == 0 || *stack % 16 != 0)
            diagnostics_.error(cpu.where("stack_size"),
                               fmt::format("[cpu]: stack_size = {:#x} must be a non-zero multiple of 16", *stack));
        else if (*stack > kMaxMemorySize)
            diagnostics_.error(cpu.where("stack_size"),
                               fmt::format("[cpu]: stack_size = {:#x} is larger than the largest memory ({:#x})",
                                           *stack, kMaxMemorySize));
        else
            spec.stack_size = *stack;
    }
    if (auto index = cpu.string("index_register")) {
        if (!is_register(*index) || *index == "rflags" || *index == "rsp" || *index == "rip")
            diagnostics_.error(cpu.where("index_register"),
                               fmt::format("[cpu]: index_register \"{}\" must be a general-purpose register "
                                           "other than rsp (rax, rbx, ..., r15)",
                                           *index));
        else
            spec.index_register = *index;
    }
    if (const toml::table *registers = cpu.subtable("registers"))
        parse_registers(*registers);
    if (const toml::table *cpuid = cpu.subtable("cpuid"))
        parse_cpuid(*cpuid);
    if (spec.mode == CpuMode::reset && (spec.entry || !spec.registers.empty())) {
        diagnostics_.error(spec.entry ? spec.entry_where : spec.registers.front().where,
                           "[cpu]: mode \"reset\" starts from the architectural reset state; it takes no entry "
                           "or registers");
    }
    if ((spec.mode == CpuMode::real || spec.mode == CpuMode::reset) && spec.page_tables)
        diagnostics_.error(spec.page_tables_where, "[cpu]: page_tables are only for \"protected\" and \"long\" mode");
    if (spec_.vcpus > 1 && !spec_.irqchip) {
        if (const RegisterSetting *clash = spec.find_register(spec.index_register))
            diagnostics_.error(clash->where,
                               fmt::format("[cpu.registers]: {} holds each vCPU's index (index_register); "
                                           "choose another index_register to set it",
                                           clash->name));
    }
    cpu.reject_unknown_keys();
}

void MachineParser::parse_cpuid(const toml::table &table)
{
    TableReader reader(table, "[cpu.cpuid]", diagnostics_);
    CpuidSpec &cpuid = spec_.cpu.cpuid;
    cpuid.brand_where = reader.where("brand");
    if (auto brand = reader.string("brand")) {
        const bool printable = std::all_of(brand->begin(), brand->end(),
                                           [](char c) { return c >= 0x20 && c < 0x7f; });
        if (brand->size() > 47 || !printable)
            diagnostics_.error(cpuid.brand_where, fmt::format("[cpu.cpuid]: brand must be at most 47 printable "
                                                              "ASCII characters (it is {} bytes)",
                                                              brand->size()));
        else
            cpuid.brand = *brand;
    }
    cpuid.overrides_where = reader.where("overrides");
    for_each_table(reader.array("overrides"), "[cpu.cpuid] overrides", "such as { leaf = 0x1, ecx = 0 }",
                   [&](const toml::table &entry, const std::string &context, const toml::node &node) {
                       TableReader o(entry, context, diagnostics_);
                       CpuidOverride override_;
                       override_.where = location_of(node);
                       auto u32 = [&](std::string_view key, bool required = false) -> std::optional<uint32_t> {
                           auto value = o.unsigned_integer(key, required);
                           if (value && *value > 0xffffffffull) {
                               diagnostics_.error(o.where(key), fmt::format("{}: {} = {:#x} does not fit in 32 bits",
                                                                            context, key, *value));
                               return std::nullopt;
                           }
                           return value ? std::optional<uint32_t>(static_cast<uint32_t>(*value)) : std::nullopt;
                       };
                       override_.leaf = u32("leaf", true).value_or(0);
                       override_.subleaf = u32("subleaf");
                       override_.eax = u32("eax");
                       override_.ebx = u32("ebx");
                       override_.ecx = u32("ecx");
                       override_.edx = u32("edx");
                       if (!o.has("eax") && !o.has("ebx") && !o.has("ecx") && !o.has("edx"))
                           diagnostics_.error(override_.where, context + ": give at least one of eax, ebx, ecx, edx");
                       o.reject_unknown_keys();
                       cpuid.overrides.push_back(override_);
                   });
    reader.reject_unknown_keys();
}

void MachineParser::parse_registers(const toml::table &table)
{
    TableReader registers(table, "[cpu.registers]", diagnostics_);
    for (std::string_view name : kRegisterNames) {
        if (name == "rip")
            continue; // see below
        auto value = registers.integer(name);
        if (!value)
            continue;
        // RFLAGS bits the architecture reserves (3, 5, 15, 22-63) must be
        // 0; bit 1 reads as 1 and the VMM sets it.
        constexpr uint64_t kDefinedRflags = 0x3f7fd7;
        if (name == "rflags" && (static_cast<uint64_t>(*value) & ~kDefinedRflags) != 0) {
            diagnostics_.error(registers.where(name),
                               fmt::format("[cpu.registers]: rflags = {:#x} sets reserved bits ({:#x})",
                                           static_cast<uint64_t>(*value),
                                           static_cast<uint64_t>(*value) & ~kDefinedRflags));
            continue;
        }
        spec_.cpu.registers.push_back(
            RegisterSetting{std::string(name), static_cast<uint64_t>(*value), registers.where(name)});
    }
    // Point at `rip` specifically: the entry is how a start address is set.
    if (registers.has("rip")) {
        registers.node("rip");
        diagnostics_.error(registers.where("rip"), "[cpu.registers]: set the start address with [cpu] entry, "
                                                   "not rip");
    }
    registers.reject_unknown_keys();
}

} // namespace vmm
