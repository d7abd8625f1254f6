#include "cli/plugins_command.hpp"

#include "plugin/key_limits.hpp"
#include "plugin/plugin_finder.hpp"
#include "support/errors.hpp"
#include "support/escape.hpp"
#include "support/logging.hpp"
#include "support/paths.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>

namespace vmm {
namespace {

std::string describe_region(const RegionDecl &r) { return describe_range(r.space, r.base, r.size); }

// "5 (edge)", "9 (level, shared)", "none (level)": a line's default number
// and how it is triggered.
std::string describe_irq(const IrqDecl &irq)
{
    const std::string line = irq.line == VMM_IRQ_NO_DEFAULT ? "none" : std::to_string(irq.line);
    return fmt::format("{} ({}{})", line, (irq.flags & VMM_IRQ_LEVEL) != 0 ? "level" : "edge",
                       (irq.flags & VMM_IRQ_SHARED) != 0 ? ", shared" : "");
}

// ABI 1.6: "default 4096, range 2..65535", "default \"exit\", one of ...";
// a string's default quoted, so that an empty one shows as "".
std::string describe_limits(const ConfigKeyInfo &key)
{
    std::string text;
    const auto add = [&text](const std::string &part) { text += (text.empty() ? "" : ", ") + part; };
    if (key.default_text)
        add("default " +
            (key.type == VMM_VALUE_STRING ? "\"" + escaped(*key.default_text) + "\"" : escaped(*key.default_text)));
    if (key.has_range)
        add("range " + range_text(key));
    if (!key.choices.empty())
        add("one of " + choices_text(key));
    return text;
}

// The plugin's strings are its own: escaped, so that an ESC sequence or a
// line break in them cannot drive the terminal or forge lines.
void print_text(const PluginLibrary &p)
{
    std::cout << fmt::format("{} {} (ABI {}{}{})\n", escaped(p.name()), p.version().empty() ? "?" : escaped(p.version()),
                             abi_version_string(p.abi_version()), p.thread_safe() ? ", thread-safe" : "",
                             p.observes_exits() ? ", observes exits" : "");
    std::cout << "  " << (p.description().empty() ? "(no description)" : escaped(p.description())) << "\n";
    std::cout << "  file: " << escaped(p.file().string()) << "\n";
    if (!p.default_regions().empty()) {
        std::string ranges;
        for (const RegionDecl &r : p.default_regions())
            ranges += (ranges.empty() ? "" : ", ") + describe_region(r);
        std::cout << "  default ranges: " << ranges << "\n";
    }
    if (!p.default_irqs().empty()) {
        std::string lines;
        for (const IrqDecl &irq : p.default_irqs())
            lines += (lines.empty() ? "" : ", ") + describe_irq(irq);
        std::cout << "  default interrupt lines: " << lines << "\n";
    }
    if (p.config_keys().empty()) {
        std::cout << "  settings: none\n";
    } else {
        std::cout << "  settings:\n";
        for (const ConfigKeyInfo &key : p.config_keys()) {
            const std::string limits = describe_limits(key);
            std::cout << fmt::format("    {} ({}{}{}): {}\n", escaped(key.name), value_type_name(key.type),
                                     key.required ? ", required" : "", limits.empty() ? "" : ", " + limits,
                                     escaped(key.description));
        }
    }
}

bool saves_state(const PluginLibrary &p)
{
    return p.descriptor().save_state != nullptr && p.descriptor().load_state != nullptr;
}

// `vmm plugins NAME`: everything the descriptor says, one fact a line.
void print_help(const PluginLibrary &p)
{
    std::cout << fmt::format("{} {} (plugin ABI {})\n", escaped(p.name()), p.version().empty() ? "?" : escaped(p.version()),
                             abi_version_string(p.abi_version()));
    std::cout << "  " << (p.description().empty() ? "(no description)" : escaped(p.description())) << "\n\n";
    std::cout << "  file:             " << escaped(p.file().string()) << "\n";
    std::cout << "  thread-safe:      "
              << (p.thread_safe() ? "yes (vCPUs call an instance at the same time)"
                                  : "no (the host serializes the calls into one instance)")
              << "\n";
    std::cout << "  saves state:      "
              << (saves_state(p) ? "yes (a hot swap hands its state to the next plugin)"
                                 : "no (a hot swap starts the next plugin afresh)")
              << "\n";
    std::cout << "  observes exits:   " << (p.observes_exits() ? "yes" : "no") << "\n";
    std::cout << "  needs vCPU state: " << (p.needs_vcpu_state() ? "yes" : "no") << "\n";
    std::string ranges;
    for (const RegionDecl &r : p.default_regions())
        ranges += (ranges.empty() ? "" : ", ") + describe_region(r);
    std::cout << "  default ranges:   " << (ranges.empty() ? "none (the machine file gives them)" : ranges) << "\n";
    std::string lines;
    for (const IrqDecl &irq : p.default_irqs())
        lines += (lines.empty() ? "" : ", ") + describe_irq(irq);
    std::cout << "  interrupt lines:  " << (lines.empty() ? "none" : lines) << "\n";
    if (p.config_keys().empty()) {
        std::cout << "  settings:         none\n";
        return;
    }
    std::cout << "\n  settings (in [[device]] settings = { ... }):\n";
    std::size_t width = 0;
    for (const ConfigKeyInfo &key : p.config_keys())
        width = std::max(width, escaped(key.name).size());
    // One line of facts (type, required, ABI 1.6's default and range or
    // choices), then the description under it.
    for (const ConfigKeyInfo &key : p.config_keys()) {
        const std::string limits = describe_limits(key);
        std::cout << fmt::format("    {:<{}}  {:<7}  {:<8}{}\n", escaped(key.name), width, value_type_name(key.type),
                                 key.required ? "required" : "optional", limits.empty() ? "" : "  " + limits);
        std::cout << fmt::format("    {:<{}}  {}\n", "", width, escaped(key.description));
    }
}

nlohmann::ordered_json to_json(const PluginLibrary &p)
{
    nlohmann::ordered_json keys = nlohmann::ordered_json::array();
    for (const ConfigKeyInfo &key : p.config_keys()) {
        // ABI 1.6: null where the plugin declares nothing; the default as
        // the plugin wrote it (text, whatever the type: "0x3f8" stays hex).
        nlohmann::ordered_json range = nullptr;
        if (key.has_range)
            range = {{"min", key.min_value}, {"max", key.max_value}};
        nlohmann::ordered_json choices = nullptr;
        if (!key.choices.empty())
            choices = key.choices;
        keys.push_back({{"name", key.name},
                        {"type", value_type_name(key.type)},
                        {"required", key.required},
                        {"default", key.default_text ? nlohmann::ordered_json(*key.default_text) : nullptr},
                        {"range", range},
                        {"choices", choices},
                        {"description", key.description}});
    }
    nlohmann::ordered_json ranges = nlohmann::ordered_json::array();
    for (const RegionDecl &r : p.default_regions())
        ranges.push_back({{"space", space_name(r.space)}, {"base", r.base}, {"size", r.size}});
    // A line without a default is "none": the machine file must give it.
    nlohmann::ordered_json irqs = nlohmann::ordered_json::array();
    for (const IrqDecl &irq : p.default_irqs())
        irqs.push_back({{"line", irq.line == VMM_IRQ_NO_DEFAULT ? nlohmann::ordered_json("none")
                                                                : nlohmann::ordered_json(irq.line)},
                        {"trigger", (irq.flags & VMM_IRQ_LEVEL) != 0 ? "level" : "edge"},
                        {"shared", (irq.flags & VMM_IRQ_SHARED) != 0}});
    return {{"name", p.name()},
            {"version", p.version()},
            {"abi", abi_version_string(p.abi_version())},
            {"description", p.description()},
            {"file", p.file().string()},
            {"thread_safe", p.thread_safe()},
            {"saves_state", saves_state(p)},
            {"needs_vcpu_state", p.needs_vcpu_state()},
            {"observes_exits", p.observes_exits()},
            {"default_ranges", ranges},
            {"default_irqs", irqs},
            {"settings", keys}};
}

} // namespace

void warn_about_plugin_path(const Options &options)
{
    std::error_code ec;
    for (const std::string &entry : options.plugin_path) {
        for (const auto &dir : paths::split_search_path(entry)) {
            if (!std::filesystem::is_directory(dir, ec))
                logging::core().warn("--plugin-path {}: no such directory", escaped(dir.string()));
        }
    }
    const PluginFinder finder(paths::plugin_dirs(options.plugin_path));
    for (const auto &[hidden, winner] : finder.shadowed_files())
        logging::core().warn("{} is hidden by {}: the first directory on the plugin path wins",
                             escaped(hidden.string()), escaped(winner.string()));
}

int plugin_help(const Options &options)
{
    PluginFinder finder(paths::plugin_dirs(options.plugin_path));
    try {
        const auto plugin = finder.load(options.plugin_name, std::filesystem::current_path());
        if (options.json)
            std::cout << to_json(*plugin).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
                      << std::endl;
        else
            print_help(*plugin);
        return kExitOk;
    } catch (const InputError &error) {
        std::cerr << error.what() << std::endl;
        return kExitBadInput;
    }
}

int list_plugins(const Options &options)
{
    warn_about_plugin_path(options);
    if (!options.plugin_name.empty())
        return plugin_help(options);
    const PluginFinder finder(paths::plugin_dirs(options.plugin_path));
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    int broken = 0;
    bool first = true;
    for (const auto &file : finder.list_files()) {
        try {
            const auto plugin = PluginLibrary::load(file);
            if (options.json) {
                all.push_back(to_json(*plugin));
            } else {
                if (!first)
                    std::cout << "\n";
                print_text(*plugin);
            }
            first = false;
        } catch (const InputError &error) {
            // One broken file does not hide the others.
            std::cerr << error.what() << std::endl;
            ++broken;
        }
    }
    // File names come from outside: bytes that are not UTF-8 become U+FFFD
    // instead of making dump() throw.
    if (options.json)
        std::cout << all.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << std::endl;
    return broken == 0 ? kExitOk : kExitBadInput;
}

} // namespace vmm
