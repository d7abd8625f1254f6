#include "core/irq_plan.hpp"

#include <vmm/plugin_abi.h>

#include <fmt/format.h>

namespace vmm {
namespace {

constexpr uint32_t kSharedLevel = VMM_IRQ_LEVEL | VMM_IRQ_SHARED;

std::string who(const DeviceSpec &device, const PluginLibrary &plugin)
{
    return fmt::format("device '{}' (plugin '{}')", device.name, plugin.name());
}

// "irq = 4" or "irqs = [4, 5]", as the machine file wrote it.
std::string as_written(const DeviceSpec &device)
{
    const std::vector<uint32_t> &lines = *device.irqs;
    if (device.irqs_key == "irq" && lines.size() == 1)
        return fmt::format("irq = {}", lines[0]);
    return fmt::format("irqs = [{}]", fmt::join(lines, ", "));
}

std::string count_text(std::size_t count)
{
    return fmt::format("{} interrupt line{}", count, count == 1 ? "" : "s");
}

const char *trigger_text(uint32_t flags)
{
    if ((flags & kSharedLevel) == kSharedLevel)
        return "level-triggered and shared";
    return (flags & VMM_IRQ_LEVEL) != 0 ? "level-triggered, not shared" : "edge-triggered";
}

} // namespace

IrqPlanner::IrqPlanner(const MachineSpec &spec, std::vector<InputError> &errors) : spec_(spec), errors_(errors) {}

void IrqPlanner::check_machine()
{
    // KVM_CREATE_PIT2 wires the PIT to the in-kernel PIC and IOAPIC: without
    // them the kernel refuses it, once the VM exists.
    if (spec_.pit && !spec_.irqchip)
        error(spec_.pit_where, "[machine]: pit = true needs the in-kernel interrupt controller: add irqchip = true");
}

std::vector<PlannedIrq> IrqPlanner::plan_device(const DeviceSpec &device, const PluginLibrary &plugin)
{
    const std::vector<IrqDecl> &declared = plugin.default_irqs();
    std::vector<PlannedIrq> planned;
    if (device.irqs) {
        if (!explicit_lines_fit(device, plugin))
            return planned;
        for (std::size_t i = 0; i < declared.size(); ++i)
            planned.push_back(PlannedIrq{(*device.irqs)[i], declared[i].flags});
        for (const PlannedIrq &irq : planned)
            check_line(device, plugin, irq.line, irq.flags, false);
        return planned;
    }
    bool asked_for_lines = false;
    for (std::size_t i = 0; i < declared.size(); ++i) {
        planned.push_back(PlannedIrq{declared[i].line, declared[i].flags});
        // Unconnected without an irqchip: whatever the default, it reaches
        // nothing, so there is nothing to check.
        if (!spec_.irqchip)
            continue;
        if (declared[i].line == VMM_IRQ_NO_DEFAULT) {
            if (!asked_for_lines)
                error(device.where,
                      fmt::format("{}: the plugin gives its interrupt line {} no default: choose one with {}",
                                  who(device, plugin), i, declared.size() == 1 ? "irq = N" : "irqs = [N, ...]"));
            asked_for_lines = true;
            continue;
        }
        check_line(device, plugin, declared[i].line, declared[i].flags, true);
    }
    return planned;
}

// The machine file's lines must match the plugin's count, and need an
// interrupt controller to mean anything.
bool IrqPlanner::explicit_lines_fit(const DeviceSpec &device, const PluginLibrary &plugin)
{
    const std::size_t given = device.irqs->size();
    const std::size_t declared = plugin.default_irqs().size();
    bool fit = true;
    if (declared == 0 && given > 0) {
        error(device.irqs_where, fmt::format("device '{}': plugin '{}' declares no interrupt line, but {} gives {}",
                                             device.name, plugin.name(), device.irqs_key, given));
        fit = false;
    } else if (given != declared) {
        error(device.irqs_where, fmt::format("device '{}': plugin '{}' uses {}, {} gives {}", device.name,
                                             plugin.name(), count_text(declared), device.irqs_key, given));
        fit = false;
    }
    if (!spec_.irqchip && given > 0) {
        const std::string stated =
            spec_.irqchip_given ? fmt::format(" (it says irqchip = false at {})", spec_.irqchip_where.str()) : "";
        error(device.irqs_where, fmt::format("{} sets {}, but the machine has no interrupt controller: add irqchip = "
                                             "true to [machine]{}",
                                             who(device, plugin), as_written(device), stated));
        fit = false;
    }
    return fit;
}

void IrqPlanner::check_line(const DeviceSpec &device, const PluginLibrary &plugin, uint32_t line, uint32_t flags,
                            bool from_default)
{
    const SourceLocation &where = from_default ? device.where : device.irqs_where;
    const std::string irq = fmt::format("{}irq {}", from_default ? "its default " : "", line);
    if (line >= kIoapicLines) {
        error(where, fmt::format("{}: {} is out of range: the in-kernel IOAPIC has lines 0-{}", who(device, plugin), irq,
                                 kIoapicLines - 1));
        return;
    }
    if (line == kCascadeLine) {
        error(where, fmt::format("{}: {} is the PIC cascade (the slave PIC's input on the master), which no device "
                                 "can use: choose another line",
                                 who(device, plugin), irq));
        return;
    }
    if (line == kPitLine && spec_.pit) {
        error(where, fmt::format("{}: {} is the line of the in-kernel PIT (pit = true at {}): choose another line",
                                 who(device, plugin), irq, spec_.pit_where.str()));
        return;
    }
    const auto [held, inserted] = users_.try_emplace(line, LineUser{device.name, plugin.name(), flags, where});
    if (inserted)
        return;
    const LineUser &first = held->second;
    // A level line is the OR of its sharers' levels; an edge cannot be
    // shared that way (one device's pulse would hide another's).
    if ((first.flags & kSharedLevel) == kSharedLevel && (flags & kSharedLevel) == kSharedLevel)
        return;
    const std::string other = first.device == device.name
                                  ? "another of its own lines"
                                  : fmt::format("device '{}' (plugin '{}')", first.device, first.plugin);
    error(where, fmt::format("{}: {} is already taken by {}, declared at {}; a line is shared only when both sides "
                             "declare it level-triggered and shared (plugin '{}' declares it {}, plugin '{}' {})",
                             who(device, plugin), irq, other, first.where.str(), first.plugin,
                             trigger_text(first.flags), plugin.name(), trigger_text(flags)));
}

} // namespace vmm
