#include "core/acpi_plan.hpp"

#include "boot/acpi_tables.hpp"
#include "support/ranges.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vmm {
namespace {

// The acpi-pm setting that chooses a 24- or 32-bit PM timer; the FADT's
// TMR_VAL_EXT flag must say the same (the plugin checks the value).
bool timer_is_32bit(const DeviceSpec &device)
{
    for (const Setting &setting : device.settings) {
        if (setting.key == "timer_bits" && std::holds_alternative<int64_t>(setting.value))
            return std::get<int64_t>(setting.value) == 32;
    }
    return false;
}

// ", declared at FILE:LINE:COL" for a chunk of an [[image]], else "".
std::string declared_at(const MachinePlan &plan, const ImageChunk &chunk)
{
    for (const LoadedImage &image : plan.images) {
        for (const ImageChunk &c : image.chunks) {
            if (c.address == chunk.address && c.what == chunk.what && image.spec->where.known())
                return ", declared at " + image.spec->where.str();
        }
    }
    return "";
}

} // namespace

void place_acpi_tables(const MachineSpec &spec, MachinePlan &plan, std::vector<InputError> &errors)
{
    if (!spec.acpi)
        return;
    const SourceLocation &where = spec.acpi_where;
    if (!spec.irqchip)
        errors.emplace_back(where, "[machine]: acpi = true needs irqchip = true (the MADT describes the in-kernel "
                                   "local APICs and IOAPIC)");
    const PlannedDevice *pm = nullptr;
    for (const PlannedDevice &device : plan.devices) {
        if (device.plugin == nullptr || device.plugin->name() != kAcpiPmPlugin)
            continue;
        if (pm != nullptr) {
            errors.emplace_back(device.spec->where,
                                fmt::format("device '{}': a second '{}' device (the FADT describes one; the first is "
                                            "'{}' at {})",
                                            device.spec->name, kAcpiPmPlugin, pm->spec->name, pm->spec->where.str()));
            continue;
        }
        pm = &device;
    }
    if (pm == nullptr) {
        errors.emplace_back(where, fmt::format("[machine]: acpi = true needs a device of plugin '{}' (the FADT points "
                                               "at its PM1a and PM timer registers); add one or set acpi = false",
                                               kAcpiPmPlugin));
        return;
    }
    if (pm->regions.empty() || pm->regions.front().space != Space::pio ||
        pm->regions.front().size < acpi::kPmBlockSize || pm->irqs.empty()) {
        // The plugin refuses such a device itself, with the reason.
        return;
    }
    acpi::Input input;
    input.vcpus = spec.vcpus;
    input.pm_base = static_cast<uint16_t>(pm->regions.front().base);
    input.sci_irq = static_cast<uint16_t>(pm->irqs.front().line);
    input.timer_32bit = timer_is_32bit(*pm->spec);
    acpi::Tables tables = acpi::build_tables(input);
    const uint64_t first = tables.base, last = tables.base + tables.bytes.size() - 1;
    if (!lies_within(tables.base, tables.bytes.size(), 0, spec.memory_size)) {
        errors.emplace_back(where, fmt::format("[machine]: the ACPI tables ({:#x}-{:#x}, in the BIOS area) do not fit "
                                               "in guest RAM (0-{:#x}): acpi = true needs memory of at least 1M",
                                               first, last, spec.memory_size - 1));
        return;
    }
    for (const ImageChunk &chunk : plan.boot.ram_chunks) {
        if (chunk.size() != 0 && chunk.address <= last && first < chunk.end())
            errors.emplace_back(where, fmt::format("[machine]: the ACPI tables ({:#x}-{:#x}) overlap {} ({:#x}-{:#x}{}); "
                                                   "the tables' place is fixed: move the other",
                                                   first, last, chunk.what, chunk.address, chunk.end() - 1,
                                                   declared_at(plan, chunk)));
    }
    ImageChunk chunk{tables.base, tables.bytes, 0, "the ACPI tables"};
    auto position = std::find_if(plan.boot.ram_chunks.begin(), plan.boot.ram_chunks.end(),
                                 [&](const ImageChunk &c) { return c.address > chunk.address; });
    plan.boot.ram_chunks.insert(position, std::move(chunk));
    plan.acpi = std::move(tables);
}

} // namespace vmm
