// [[device]]: instance name, plugin, PIO/MMIO ranges and the settings table
// handed to the plugin. Only the shape is checked here; whether the plugin
// declares these settings, and whether ranges overlap, is checked when the
// machine is planned, with the plugin loaded.

#include "config/machine_parser.hpp"

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
        device.plugin = *plugin;
    }
    parse_ranges(reader, Space::pio, context, device);
    parse_ranges(reader, Space::mmio, context, device);
    if (const toml::table *settings = reader.subtable("settings"))
        parse_settings(*settings, context, device);
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
