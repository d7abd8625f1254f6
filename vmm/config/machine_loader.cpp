// Reading a machine file: the TOML text is checked for characters TOML++
// mishandles, parsed, and handed to a MachineParser (machine_parser.hpp)
// whose sections live in their own files. This file holds the entry points
// and the [machine] table.
#include "config/machine_loader.hpp"

#include "config/machine_includes.hpp"
#include "config/machine_parser.hpp"
#include "config/overrides.hpp"
#include "config/toml_reader.hpp"
#include "kvm/registers.hpp"
#include "support/errors.hpp"
#include "support/paths.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace vmm {
namespace fs = std::filesystem;

bool is_register(std::string_view name)
{
    return std::find(kRegisterNames.begin(), kRegisterNames.end(), name) != kRegisterNames.end();
}

MachineSpec MachineParser::parse()
{
    spec_.file = source_name_;
    spec_.name = fs::path(source_name_).stem().string();
    TableReader top(root_, "machine file", diagnostics_);
    parse_machine_table(top);
    parse_cpu(top);
    parse_images(top);
    parse_devices(top);
    parse_checks(top);
    parse_debug(top);
    top.reject_unknown_keys();
    diagnostics_.throw_if_any();
    return std::move(spec_);
}

void MachineParser::parse_machine_table(TableReader &top)
{
    const toml::table *table = top.subtable("machine");
    if (table == nullptr) {
        if (!top.has("machine"))
            diagnostics_.error(SourceLocation{source_name_, 1, 1},
                               "missing [machine] table (it gives at least `memory`)");
        return;
    }
    TableReader machine(*table, "[machine]", diagnostics_);
    if (auto name = machine.string("name"))
        spec_.name = *name;
    spec_.memory_where = machine.where("memory");
    if (auto memory = machine.byte_size("memory", true)) {
        if (*memory == 0 || *memory % kPageSize != 0)
            diagnostics_.error(spec_.memory_where,
                               fmt::format("[machine]: memory = {:#x} must be a non-zero multiple of 4 KiB", *memory));
        else if (*memory > kMaxMemorySize)
            diagnostics_.error(spec_.memory_where,
                               fmt::format("[machine]: memory = {:#x} is more than the 3 GiB this vmm maps "
                                           "below the 32-bit I/O hole",
                                           *memory));
        else
            spec_.memory_size = *memory;
    }
    if (auto vcpus = machine.integer("vcpus")) {
        if (*vcpus < 1 || *vcpus > kMaxVcpus)
            diagnostics_.error(machine.where("vcpus"),
                               fmt::format("[machine]: vcpus = {} must be between 1 and {}", *vcpus, kMaxVcpus));
        else
            spec_.vcpus = static_cast<uint32_t>(*vcpus);
    }
    if (auto strict = machine.boolean("strict"))
        spec_.strict = *strict;
    if (auto isolate = machine.boolean("isolate"))
        spec_.isolate = *isolate;
    // Where irqchip and pit were set: messages about interrupt lines and
    // in-kernel devices point back at them.
    if (auto irqchip = machine.boolean("irqchip")) {
        spec_.irqchip = *irqchip;
        spec_.irqchip_given = true;
        spec_.irqchip_where = machine.where("irqchip");
    }
    if (auto pit = machine.boolean("pit")) {
        spec_.pit = *pit;
        spec_.pit_where = machine.where("pit");
    }
    if (auto acpi = machine.boolean("acpi")) {
        spec_.acpi = *acpi;
        spec_.acpi_where = machine.where("acpi");
    }
    machine.reject_unknown_keys();
}

const char *cpu_mode_name(CpuMode mode)
{
    switch (mode) {
    case CpuMode::reset: return "reset";
    case CpuMode::real: return "real";
    case CpuMode::protected32: return "protected";
    case CpuMode::long64: return "long";
    case CpuMode::user64: return "user";
    }
    return "?";
}

const char *setting_type_name(const SettingValue &value)
{
    switch (value.index()) {
    case 0: return "boolean";
    case 1: return "integer";
    case 2: return "float";
    default: return "string";
    }
}

MachineSpec parse_machine(std::string_view text, const std::string &source_name, const std::vector<fs::path> &guest_dirs,
                          const std::vector<std::string> &sets)
{
    MachineTree tree = read_machine_tree(text, source_name);
    apply_overrides(tree.root, sets, source_name);
    // Columns of lines TOML++ saw with escapes map back to each file's.
    const ColumnMapScope columns(tree.columns);
    try {
        return MachineParser(tree.root, source_name, guest_dirs).parse();
    } catch (const InputErrors &errors) {
        // Messages about a profile's nodes say which file included it.
        if (tree.included_from.empty())
            throw;
        std::vector<InputError> located;
        for (const InputError &error : errors.errors()) {
            const std::string message = error.what();
            const std::string prefix = error.where().known() ? error.where().str() + ": " : "";
            if (prefix.empty() || message.rfind(prefix, 0) != 0)
                located.push_back(error);
            else
                located.emplace_back(error.where(),
                                     with_include_context(tree, error.where(), message.substr(prefix.size())));
        }
        throw InputErrors(std::move(located));
    }
}

MachineSpec load_machine_file(const fs::path &file, const std::vector<fs::path> &guest_dirs,
                              const std::vector<std::string> &sets)
{
    // Never open a FIFO (it would block) or a device: say what it is.
    if (auto kind = paths::non_regular_kind(file))
        throw InputError(fmt::format("machine file {} is {}, not a file", file.string(), *kind));
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw InputError(errno_message("cannot read machine file " + file.string(), errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        throw InputError(errno_message("cannot read machine file " + file.string(), errno));
    return parse_machine(text.str(), file.string(), guest_dirs, sets);
}

} // namespace vmm
