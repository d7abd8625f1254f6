// [[device]]: instance name, plugin, PIO/MMIO ranges, interrupt lines and the
// settings table handed to the plugin. Only the shape is checked here; whether
// the plugin declares these settings and this many lines, and whether ranges
// or lines clash, is checked when the machine is planned, with the plugin
// loaded.

#include "config/machine_parser.hpp"
#include "support/logging.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vmm {
namespace {

// Instance names appear in logs, in control-socket requests and as spdlog
// logger names, so they are kept to a plain, quotable alphabet.
bool valid_instance_name(std::string_view name)
{
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

} // namespace

void MachineParser::parse_devices(TableReader &top)
{
    for_each_table(top.array("device"), "device", "([[device]])",
                   [&](const toml::table &table, const std::string &context, const toml::node &) {
                       parse_device(table, context);
                   });
}

void MachineParser::parse_device(const toml::table &table, std::string context)
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
        else if (plugin->find('\0') != std::string::npos) // the OS would see the name cut at the NUL
            diagnostics_.error(device.plugin_where,
                               fmt::format("{}: plugin \"{}\" contains a NUL character", context, *plugin));
        device.plugin = *plugin;
    }
    parse_ranges(reader, Space::pio, context, device);
    parse_ranges(reader, Space::mmio, context, device);
    parse_irqs(reader, context, device);
    if (auto isolate = reader.boolean("isolate")) {
        device.isolate = *isolate;
        device.isolate_where = reader.where("isolate");
    }
    if (auto on_crash = reader.string("on_crash")) {
        if (*on_crash == "stop")
            device.on_crash = OnCrash::stop;
        else if (*on_crash == "detach")
            device.on_crash = OnCrash::detach;
        else if (*on_crash == "restart")
            device.on_crash = OnCrash::restart;
        else
            diagnostics_.error(reader.where("on_crash"),
                               fmt::format("{}: on_crash = \"{}\" must be \"stop\", \"detach\" or \"restart\"",
                                           context, *on_crash));
    }
    if (const toml::table *settings = reader.subtable("settings"))
        parse_settings(*settings, context, device);
    if (auto level = reader.string("log")) {
        if (!logging::parse_level(*level))
            diagnostics_.error(reader.where("log"),
                               fmt::format("{}: log = \"{}\" is not a level (trace, debug, info, warn, error, "
                                           "critical or off)",
                                           context, *level));
        else
            device.log_level = *level;
    }
    reader.reject_unknown_keys();
    spec_.devices.push_back(std::move(device));
}

void MachineParser::parse_ranges(TableReader &reader, Space space, const std::string &context, DeviceSpec &device)
{
    const char *key = space_name(space);
    for_each_table(reader.array(key), fmt::format("{}: {}", context, key), "such as { base = 0x3f8, size = 8 }",
                   [&](const toml::table &table, const std::string &range_context, const toml::node &node) {
                       TableReader range_reader(table, range_context, diagnostics_);
                       auto base = range_reader.unsigned_integer("base", true);
                       auto size = range_reader.unsigned_integer("size", true);
                       range_reader.reject_unknown_keys();
                       if (base && size)
                           device.ranges.push_back(RangeSpec{space, *base, *size, location_of(node)});
                   });
}

// `irq = N` or `irqs = [N, ...]`: the device's lines in its own order. Which
// numbers the machine can use (range, cascade, PIT, sharing) depends on the
// irqchip and on the plugin, so the plan checks them.
void MachineParser::parse_irqs(TableReader &reader, const std::string &context, DeviceSpec &device)
{
    const toml::node *irq = reader.node("irq");
    const toml::node *irqs = reader.node("irqs");
    if (irq != nullptr && irqs != nullptr) {
        diagnostics_.error(location_of(*irqs),
                           fmt::format("{}: give either irq (one line) or irqs (a list), not both (irq is at {})",
                                       context, location_of(*irq).str()));
        return;
    }
    if (irq != nullptr) {
        device.irqs_key = "irq";
        device.irqs_where = location_of(*irq);
        if (auto line = irq_line(*irq, "'irq'", context))
            device.irqs = std::vector<uint32_t>{*line};
        return;
    }
    if (irqs == nullptr)
        return;
    device.irqs_key = "irqs";
    device.irqs_where = location_of(*irqs);
    const toml::array *array = irqs->as_array();
    if (array == nullptr) {
        diagnostics_.error(device.irqs_where, fmt::format("{}: 'irqs' must be an array of integers such as [4, 5], "
                                                          "not {}",
                                                          context, toml_type_name(*irqs)));
        return;
    }
    std::vector<uint32_t> lines;
    bool good = true;
    for (std::size_t i = 0; i < array->size(); ++i) {
        auto line = irq_line(*array->get(i), fmt::format("irqs[{}]", i), context);
        good = good && line.has_value();
        if (line)
            lines.push_back(*line);
    }
    if (good)
        device.irqs = std::move(lines);
}

std::optional<uint32_t> MachineParser::irq_line(const toml::node &node, const std::string &what,
                                                const std::string &context)
{
    const auto *integer = node.as_integer();
    if (integer == nullptr) {
        diagnostics_.error(location_of(node),
                           fmt::format("{}: {} must be an integer (an interrupt line), not {}", context, what,
                                       toml_type_name(node)));
        return std::nullopt;
    }
    const int64_t value = integer->get();
    if (value < 0) {
        diagnostics_.error(location_of(node), fmt::format("{}: {} must not be negative (got {})", context, what, value));
        return std::nullopt;
    }
    // Kept to 32 bits here; the plan says which lines the machine has.
    if (value > 0xffff) {
        diagnostics_.error(location_of(node), fmt::format("{}: {} = {} is not an interrupt line (the in-kernel IOAPIC "
                                                          "has lines 0-23)",
                                                          context, what, value));
        return std::nullopt;
    }
    return static_cast<uint32_t>(value);
}

void MachineParser::parse_settings(const toml::table &table, const std::string &context, DeviceSpec &device)
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

} // namespace vmm
