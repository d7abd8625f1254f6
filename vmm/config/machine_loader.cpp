#include "config/machine_loader.hpp"

#include "config/toml_guard.hpp"
#include "config/toml_reader.hpp"
#include "kvm/registers.hpp"
#include "support/errors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <string>

namespace vmm {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kPageSize = 4096;

bool is_register(std::string_view name)
{
    return std::find(kRegisterNames.begin(), kRegisterNames.end(), name) != kRegisterNames.end();
}

bool valid_instance_name(std::string_view name)
{
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

class MachineParser {
public:
    MachineParser(const toml::table &root, std::string source_name, const std::vector<fs::path> &guest_dirs)
        : root_(root), source_name_(std::move(source_name)), guest_dirs_(guest_dirs)
    {
    }

    MachineSpec parse()
    {
        spec_.file = source_name_;
        spec_.name = fs::path(source_name_).stem().string();
        TableReader top(root_, "machine file", diagnostics_);
        parse_machine_table(top);
        parse_cpu(top);
        parse_images(top);
        parse_devices(top);
        parse_checks(top);
        top.reject_unknown_keys();
        diagnostics_.throw_if_any();
        return std::move(spec_);
    }

private:
    void parse_machine_table(TableReader &top)
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
        if (auto irqchip = machine.boolean("irqchip"))
            spec_.irqchip = *irqchip;
        machine.reject_unknown_keys();
    }

    void parse_cpu(TableReader &top)
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
            else if (*mode == "reset")
                spec.mode = CpuMode::reset;
            else
                diagnostics_.error(spec.mode_where, fmt::format("[cpu]: unknown mode \"{}\" (expected \"real\", "
                                                                "\"protected\", \"long\" or \"reset\")",
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

    void parse_cpuid(const toml::table &table)
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
        if (const toml::array *overrides = reader.array("overrides")) {
            std::size_t index = 0;
            for (const toml::node &node : *overrides) {
                const std::string context = fmt::format("[cpu.cpuid] overrides[{}]", index++);
                const toml::table *entry = node.as_table();
                if (entry == nullptr) {
                    diagnostics_.error(location_of(node), context + ": must be a table such as { leaf = 0x1, ecx = 0 }");
                    continue;
                }
                TableReader o(*entry, context, diagnostics_);
                CpuidOverride override_;
                override_.where = location_of(node);
                auto u32 = [&](std::string_view key, bool required = false) -> std::optional<uint32_t> {
                    auto value = o.unsigned_integer(key, required);
                    if (value && *value > 0xffffffffull) {
                        diagnostics_.error(o.where(key), fmt::format("{}: {} = {:#x} does not fit in 32 bits", context,
                                                                     key, *value));
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
            }
        }
        reader.reject_unknown_keys();
    }

    void parse_registers(const toml::table &table)
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

    void parse_images(TableReader &top)
    {
        const toml::array *images = top.array("image");
        if (images == nullptr)
            return;
        std::size_t index = 0;
        for (const toml::node &node : *images) {
            const std::string context = fmt::format("image[{}]", index++);
            const toml::table *table = node.as_table();
            if (table == nullptr) {
                diagnostics_.error(location_of(node), context + ": must be a table ([[image]])");
                continue;
            }
            parse_image(*table, context);
        }
    }

    void parse_image(const toml::table &table, const std::string &context)
    {
        TableReader reader(table, context, diagnostics_);
        ImageSpec image;
        image.where = reader.where();
        image.file_where = reader.where("file");
        image.address_where = reader.where("address");
        if (auto type = reader.string("type")) {
            if (*type == "ram")
                image.type = ImageType::ram;
            else if (*type == "rom")
                image.type = ImageType::rom;
            else
                diagnostics_.error(reader.where("type"),
                                   fmt::format("{}: unknown type \"{}\" (expected \"ram\" or \"rom\")", context, *type));
        }
        image.format = ImageFormat::automatic;
        if (auto format = reader.string("format")) {
            if (*format == "flat")
                image.format = ImageFormat::flat;
            else if (*format == "elf")
                image.format = ImageFormat::elf;
            else if (*format == "multiboot")
                image.format = ImageFormat::multiboot;
            else
                diagnostics_.error(reader.where("format"),
                                   fmt::format("{}: unknown format \"{}\" (expected \"flat\", \"elf\" or "
                                               "\"multiboot\")",
                                               context, *format));
        }
        image.address = reader.unsigned_integer("address", image.format == ImageFormat::flat);
        image.entry = reader.unsigned_integer("entry");
        if (image.address && image.format != ImageFormat::flat && image.format != ImageFormat::automatic)
            diagnostics_.error(image.address_where,
                               fmt::format("{}: address is only for flat images (an ELF gives its own addresses)", context));
        if (image.type == ImageType::rom && image.format != ImageFormat::flat && image.format != ImageFormat::automatic)
            diagnostics_.error(reader.where("type"), fmt::format("{}: only flat images can be ROMs", context));
        if (image.type == ImageType::rom && image.address && *image.address % kPageSize != 0)
            diagnostics_.error(image.address_where,
                               fmt::format("{}: a ROM image must start on a 4 KiB boundary (address {:#x})", context,
                                           *image.address));
        if (auto file = reader.string("file", true)) {
            image.file_as_written = *file;
            if (auto resolved = resolve_image(*file))
                image.file = *resolved;
            else
                diagnostics_.error(image.file_where, fmt::format("{}: image file \"{}\" not found (looked in {})",
                                                                 context, *file, describe_image_dirs(*file)));
        }
        const bool multiboot = image.format == ImageFormat::multiboot;
        if (auto cmdline = reader.string("cmdline")) {
            if (!multiboot)
                diagnostics_.error(reader.where("cmdline"), context + ": cmdline is only for format = \"multiboot\"");
            image.cmdline = *cmdline;
        }
        if (const toml::array *modules = reader.array("modules")) {
            if (!multiboot)
                diagnostics_.error(reader.where("modules"), context + ": modules are only for format = \"multiboot\"");
            parse_modules(*modules, context, image);
        }
        reader.reject_unknown_keys();
        spec_.images.push_back(std::move(image));
    }

    void parse_modules(const toml::array &modules, const std::string &context, ImageSpec &image)
    {
        std::size_t index = 0;
        for (const toml::node &node : modules) {
            const std::string module_context = fmt::format("{}: modules[{}]", context, index++);
            const toml::table *table = node.as_table();
            if (table == nullptr) {
                diagnostics_.error(location_of(node), module_context + ": must be a table such as { file = \"initrd\" }");
                continue;
            }
            TableReader reader(*table, module_context, diagnostics_);
            ModuleSpec module;
            module.where = location_of(node);
            if (auto file = reader.string("file", true)) {
                module.file_as_written = *file;
                if (auto resolved = resolve_image(*file))
                    module.file = *resolved;
                else
                    diagnostics_.error(reader.where("file"),
                                       fmt::format("{}: module file \"{}\" not found (looked in {})", module_context,
                                                   *file, describe_image_dirs(*file)));
            }
            module.cmdline = reader.string("cmdline").value_or("");
            reader.reject_unknown_keys();
            image.modules.push_back(std::move(module));
        }
    }

    std::vector<fs::path> image_dirs() const
    {
        std::vector<fs::path> dirs;
        fs::path own = fs::path(source_name_).parent_path();
        dirs.push_back(own.empty() ? fs::path(".") : own);
        dirs.insert(dirs.end(), guest_dirs_.begin(), guest_dirs_.end());
        return dirs;
    }

    std::optional<fs::path> resolve_image(const std::string &file) const
    {
        std::error_code ec;
        const fs::path given(file);
        if (given.is_absolute())
            return fs::is_regular_file(given, ec) ? std::optional<fs::path>(given) : std::nullopt;
        for (const fs::path &dir : image_dirs()) {
            if (fs::is_regular_file(dir / given, ec))
                return dir / given;
        }
        return std::nullopt;
    }

    std::string describe_image_dirs(const std::string &file) const
    {
        if (fs::path(file).is_absolute())
            return "that absolute path";
        std::string text;
        for (const fs::path &dir : image_dirs())
            text += (text.empty() ? "" : ", ") + dir.string();
        return text;
    }

    void parse_devices(TableReader &top)
    {
        const toml::array *devices = top.array("device");
        if (devices == nullptr)
            return;
        std::size_t index = 0;
        for (const toml::node &node : *devices) {
            const std::string context = fmt::format("device[{}]", index++);
            const toml::table *table = node.as_table();
            if (table == nullptr) {
                diagnostics_.error(location_of(node), context + ": must be a table ([[device]])");
                continue;
            }
            parse_device(*table, context);
        }
    }

    void parse_device(const toml::table &table, std::string context)
    {
        TableReader reader(table, context, diagnostics_);
        DeviceSpec device;
        device.where = reader.where();
        if (auto name = reader.string("name", true)) {
            if (!valid_instance_name(*name)) {
                diagnostics_.error(reader.where("name"),
                                   fmt::format("{}: name \"{}\" must be 1-64 letters, digits, '-' or '_'", context, *name));
            } else {
                for (const DeviceSpec &other : spec_.devices) {
                    if (other.name == *name)
                        diagnostics_.error(reader.where("name"),
                                           fmt::format("{}: a device named '{}' already exists (at {})", context,
                                                       *name, other.where.str()));
                }
                device.name = *name;
                context = fmt::format("device '{}'", *name);
                reader.set_context(context);
            }
        }
        device.plugin_where = reader.where("plugin");
        if (auto plugin = reader.string("plugin", true)) {
            if (plugin->empty())
                diagnostics_.error(device.plugin_where, context + ": plugin must not be empty");
            device.plugin = *plugin;
        }
        parse_ranges(reader, Space::pio, context, device);
        parse_ranges(reader, Space::mmio, context, device);
        if (const toml::table *settings = reader.subtable("settings"))
            parse_settings(*settings, context, device);
        reader.reject_unknown_keys();
        spec_.devices.push_back(std::move(device));
    }

    void parse_ranges(TableReader &reader, Space space, const std::string &context, DeviceSpec &device)
    {
        const char *key = space_name(space);
        const toml::array *ranges = reader.array(key);
        if (ranges == nullptr)
            return;
        std::size_t index = 0;
        for (const toml::node &node : *ranges) {
            const std::string range_context = fmt::format("{}: {}[{}]", context, key, index++);
            const toml::table *table = node.as_table();
            if (table == nullptr) {
                diagnostics_.error(location_of(node),
                                   range_context + ": must be a table such as { base = 0x3f8, size = 8 }");
                continue;
            }
            TableReader range_reader(*table, range_context, diagnostics_);
            auto base = range_reader.unsigned_integer("base", true);
            auto size = range_reader.unsigned_integer("size", true);
            range_reader.reject_unknown_keys();
            if (base && size)
                device.ranges.push_back(RangeSpec{space, *base, *size, location_of(node)});
        }
    }

    void parse_settings(const toml::table &table, const std::string &context, DeviceSpec &device)
    {
        for (const auto &[key, node] : table) {
            Setting setting;
            setting.key = key.str();
            setting.where = location_of(node);
            if (const auto *v = node.as_boolean())
                setting.value = v->get();
            else if (const auto *v = node.as_integer())
                setting.value = v->get();
            else if (const auto *v = node.as_floating_point())
                setting.value = v->get();
            else if (const auto *v = node.as_string())
                setting.value = v->get();
            else {
                diagnostics_.error(setting.where,
                                   fmt::format("{}: setting '{}' is {}; settings are booleans, integers, floats or "
                                               "strings",
                                               context, setting.key, toml_type_name(node)));
                continue;
            }
            device.settings.push_back(std::move(setting));
        }
    }

    void parse_checks(TableReader &top)
    {
        const toml::array *checks = top.array("check");
        if (checks == nullptr)
            return;
        std::size_t index = 0;
        for (const toml::node &node : *checks) {
            const std::string context = fmt::format("check[{}]", index++);
            const toml::table *table = node.as_table();
            if (table == nullptr) {
                diagnostics_.error(location_of(node), context + ": must be a table ([[check]])");
                continue;
            }
            parse_check(*table, context);
        }
    }

    void parse_check(const toml::table &table, const std::string &context)
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

    const toml::table &root_;
    std::string source_name_;
    const std::vector<fs::path> &guest_dirs_;
    Diagnostics diagnostics_;
    MachineSpec spec_;
};

} // namespace

const char *cpu_mode_name(CpuMode mode)
{
    switch (mode) {
    case CpuMode::reset: return "reset";
    case CpuMode::real: return "real";
    case CpuMode::protected32: return "protected";
    case CpuMode::long64: return "long";
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

MachineSpec parse_machine(std::string_view text, const std::string &source_name, const std::vector<fs::path> &guest_dirs)
{
    if (auto problem = check_toml_characters(text, source_name))
        throw InputError(problem->where, problem->message);
    toml::table root;
    try {
        root = toml::parse(text, source_name);
    } catch (const toml::parse_error &error) {
        const toml::source_region &source = error.source();
        throw InputError(SourceLocation{source_name, source.begin.line, source.begin.column},
                         std::string(error.description()));
    }
    return MachineParser(root, source_name, guest_dirs).parse();
}

MachineSpec load_machine_file(const fs::path &file, const std::vector<fs::path> &guest_dirs)
{
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw InputError(errno_message("cannot read machine file " + file.string(), errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        throw InputError(errno_message("cannot read machine file " + file.string(), errno));
    return parse_machine(text.str(), file.string(), guest_dirs);
}

} // namespace vmm
