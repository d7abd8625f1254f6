#include "core/machine_plan.hpp"

#include "core/acpi_plan.hpp"
#include "core/irq_plan.hpp"
#include "core/kernel_devices.hpp"
#include "isolation/plugin_description.hpp"
#include "kvm/vm.hpp"
#include "plugin/settings_check.hpp"
#include "support/errors.hpp"
#include "support/ranges.hpp"

#include <fmt/format.h>

#include <cpuid.h>

#include <string>

namespace vmm {
namespace {

// KVM refuses memory slots past the host's physical address width (CPUID
// 0x80000008 EAX[7:0]), with a bare EINVAL once the VM exists. The plan
// refuses them first, at the image that asks.
unsigned host_physical_address_bits()
{
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx) && (eax & 0xff) >= 32 && (eax & 0xff) <= 63)
        return eax & 0xff;
    return 36; // the architectural minimum with PAE
}

class Planner {
public:
    Planner(const MachineSpec &spec, PluginFinder &plugins)
        : spec_(spec), plugins_(plugins), irqs_(spec, errors_), kernel_ranges_(kernel_device_ranges(spec))
    {
        plan_.spec = &spec;
    }

    MachinePlan build()
    {
        irqs_.check_machine();
        for (const DeviceSpec &device : spec_.devices)
            plan_device(device);
        check_kernel_ports();
        try {
            plan_.images = load_images(spec_);
        } catch (const InputErrors &errors) {
            errors_.insert(errors_.end(), errors.errors().begin(), errors.errors().end());
        }
        check_layout();
        check_memory_checks();
        if (errors_.empty()) {
            try {
                plan_.boot = plan_boot(spec_, plan_.images, plan_.mmio);
            } catch (const InputErrors &errors) {
                errors_.insert(errors_.end(), errors.errors().begin(), errors.errors().end());
            }
        }
        if (errors_.empty())
            place_acpi_tables(spec_, plan_, errors_);
        if (!errors_.empty())
            throw InputErrors(std::move(errors_));
        return std::move(plan_);
    }

private:
    void error(const SourceLocation &where, const std::string &message) { errors_.emplace_back(where, message); }

    void plan_device(const DeviceSpec &device)
    {
        PlannedDevice planned;
        planned.spec = &device;
        try {
            // An isolated device's plugin is described by its own process,
            // never loaded into vmm's (isolation/plugin_description.hpp).
            const bool isolated = device.isolate.value_or(spec_.isolate);
            planned.plugin = plugins_.load(device.plugin, spec_.file.parent_path(),
                                           isolated ? PluginDescriber(describe_plugin_in_child) : PluginDescriber());
        } catch (const InputError &e) {
            error(device.plugin_where, fmt::format("device '{}': {}", device.name, e.what()));
            return;
        }
        for (InputError &e : check_settings(device.name, device.where, device.settings, *planned.plugin))
            errors_.push_back(std::move(e));

        const uint32_t index = static_cast<uint32_t>(plan_.devices.size());
        if (!device.ranges.empty()) {
            for (const RangeSpec &range : device.ranges)
                add_range(planned, index, range.space, range.base, range.size, range.where);
        } else {
            for (const RegionDecl &decl : planned.plugin->default_regions())
                add_range(planned, index, decl.space, decl.base, decl.size, device.where,
                          fmt::format(" (a default range of plugin '{}')", planned.plugin->name()));
        }
        planned.irqs = irqs_.plan_device(device, *planned.plugin);
        plan_.devices.push_back(std::move(planned));
    }

    void add_range(PlannedDevice &planned, uint32_t device_index, Space space, uint64_t base, uint64_t size,
                   const SourceLocation &where, const std::string &origin = "")
    {
        Mapping mapping;
        mapping.base = base;
        mapping.size = size;
        mapping.device = device_index;
        mapping.region = static_cast<uint32_t>(planned.regions.size());
        mapping.owner = planned.spec->name;
        mapping.where = where;
        try {
            (space == Space::pio ? plan_.pio : plan_.mmio).insert(std::move(mapping));
            planned.regions.push_back(DeviceRegion{space, size, base});
        } catch (const InputError &e) {
            errors_.emplace_back(e.what() + origin);
        }
    }

    // Guest-physical space holds RAM at 0, ROM images, MMIO ranges and
    // KVM's real-mode helper pages; no two may overlap.
    void check_layout()
    {
        struct Area {
            uint64_t base, size;
            std::string what;
            SourceLocation where;
            bool is_mmio = false; // MMIO pairs were checked by their address space
        };
        std::vector<Area> areas;
        areas.push_back(Area{0, spec_.memory_size, fmt::format("RAM {:#x}-{:#x}", 0, spec_.memory_size - 1),
                             spec_.memory_where});
        areas.push_back(Area{kReservedHelperBase, kReservedHelperSize,
                             fmt::format("KVM's reserved TSS/identity-map pages {:#x}-{:#x}", kReservedHelperBase,
                                         kReservedHelperBase + kReservedHelperSize - 1),
                             {}});
        // Before ROMs and devices, so that the message is located at them.
        for (const KernelRange &r : kernel_ranges_) {
            if (r.space == Space::mmio)
                areas.push_back(Area{r.base, r.size, r.what, {}});
        }
        for (const LoadedImage &image : plan_.images) {
            if (image.type == ImageType::rom)
                areas.push_back(Area{image.rom_address, image.rom_size,
                                     fmt::format("ROM image {} at {:#x}-{:#x}", image.spec->file_as_written,
                                                 image.rom_address, image.rom_address + image.rom_size - 1),
                                     image.spec->where});
        }
        for (const Mapping &m : plan_.mmio.mappings())
            areas.push_back(Area{m.base, m.size,
                                 fmt::format("device '{}' {}", m.owner, describe_range(Space::mmio, m.base, m.size)),
                                 m.where, true});
        const unsigned bits = host_physical_address_bits();
        const uint64_t limit = uint64_t{1} << bits;
        for (const Area &a : areas) {
            if (!a.is_mmio && (a.size > limit || a.base > limit - a.size))
                error(a.where, fmt::format("{} lies beyond this host's {}-bit guest-physical address space (which "
                                           "ends at {:#x})",
                                           a.what, bits, limit - 1));
        }
        for (std::size_t i = 0; i < areas.size(); ++i) {
            for (std::size_t j = 0; j < i; ++j) {
                const Area &a = areas[i];
                const Area &b = areas[j];
                if (a.size == 0 || b.size == 0)
                    continue;
                if (a.is_mmio && b.is_mmio)
                    continue;
                if (a.base <= b.base + (b.size - 1) && b.base <= a.base + (a.size - 1)) {
                    const std::string other = b.where.known() ? " (at " + b.where.str() + ")" : "";
                    error(a.where, fmt::format("{} overlaps {}{}", a.what, b.what, other));
                }
            }
        }
    }

    // Ports the in-kernel devices take never reach a plugin (their MMIO
    // windows are checked with the guest-physical layout).
    void check_kernel_ports()
    {
        for (const Mapping &m : plan_.pio.mappings()) {
            for (const KernelRange &r : kernel_ranges_) {
                if (r.space == Space::pio && m.base <= r.base + (r.size - 1) && r.base <= m.last())
                    error(m.where, fmt::format("device '{}' {} overlaps {}", m.owner,
                                               describe_range(Space::pio, m.base, m.size), r.what));
            }
        }
    }

    // A [[check]] of memory reads RAM or a ROM image: refuse one that would
    // read outside them now, not after the guest ran.
    void check_memory_checks()
    {
        for (const CheckSpec &check : spec_.checks) {
            if (check.kind != CheckSpec::Kind::memory_value || check.width == 0)
                continue;
            bool readable = lies_within(check.address, check.width, 0, spec_.memory_size);
            for (const LoadedImage &image : plan_.images) {
                if (image.type == ImageType::rom)
                    readable = readable || lies_within(check.address, check.width, image.rom_address, image.rom_size);
            }
            if (!readable)
                error(check.where, fmt::format("check of {} bytes at {:#x} is outside guest RAM (0-{:#x}) and every "
                                               "ROM image",
                                               check.width, check.address, spec_.memory_size - 1));
        }
    }

    const MachineSpec &spec_;
    PluginFinder &plugins_;
    MachinePlan plan_;
    std::vector<InputError> errors_;
    IrqPlanner irqs_;
    std::vector<KernelRange> kernel_ranges_;
};

} // namespace

MachinePlan plan_machine(const MachineSpec &spec, PluginFinder &plugins) { return Planner(spec, plugins).build(); }

} // namespace vmm
