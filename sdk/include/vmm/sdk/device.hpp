// vmm/sdk/device.hpp - the base class of a C++ device model.
#pragma once

#include <vmm/plugin_abi.h>
#include <vmm/sdk/host.hpp>
#include <vmm/sdk/runtime.hpp>
#include <vmm/sdk/settings.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace vmm::sdk {

// Throw from a constructor for a setting or region the device cannot use:
// the host reports it as a configuration error of this device.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class Space : uint32_t { pio = VMM_SPACE_PIO, mmio = VMM_SPACE_MMIO };

struct Region {
    Space space;
    uint64_t size;
};

// Everything a device learns when it is made. Its addresses are not in here:
// a device only ever sees a region index and an offset inside that region.
class DeviceContext {
public:
    explicit DeviceContext(const vmm_device_create_info &info)
        : name_(info.instance_name ? info.instance_name : ""), host_(info.host_api, info.host),
          settings_(info.settings, info.setting_count)
    {
        // ABI 1.4 members, read only when the host's struct has them.
        if (info.struct_size >= offsetof(vmm_device_create_info, flags) + sizeof(info.flags)) {
            irq_count_ = info.irq_count;
            has_irqchip_ = (info.flags & VMM_CREATE_IRQCHIP) != 0;
        }
        const char *cursor = reinterpret_cast<const char *>(info.regions);
        for (uint32_t i = 0; i < info.region_count && cursor != nullptr; ++i) {
            const auto *r = reinterpret_cast<const vmm_region *>(cursor);
            regions_.push_back(Region{static_cast<Space>(r->space), r->size});
            if (r->struct_size == 0)
                break;
            cursor += r->struct_size;
        }
    }

    const std::string &name() const noexcept { return name_; }
    const Host &host() const noexcept { return host_; }
    const Settings &settings() const noexcept { return settings_; }
    const std::vector<Region> &regions() const noexcept { return regions_; }
    // ABI 1.4: how many interrupt lines the device has (its own numbering,
    // 0..irq_count-1), and whether they reach an interrupt controller.
    uint32_t irq_count() const noexcept { return irq_count_; }
    bool has_irqchip() const noexcept { return has_irqchip_; }

    // Throws ConfigError unless the device got exactly `count` regions in
    // `space`, each at least `min_size` long: the usual first check.
    void require_regions(Space space, std::size_t count, uint64_t min_size) const
    {
        bool ok = regions_.size() == count;
        for (const Region &r : regions_)
            ok = ok && r.space == space && r.size >= min_size;
        if (!ok) {
            throw ConfigError("needs " + std::to_string(count) + (space == Space::pio ? " port I/O" : " MMIO") +
                              " region(s) of at least " + std::to_string(min_size) +
                              (space == Space::pio ? " ports" : " bytes") + ", got " + describe_regions());
        }
    }

private:
    std::string describe_regions() const
    {
        if (regions_.empty())
            return "none";
        std::string text;
        for (const Region &r : regions_) {
            if (!text.empty())
                text += ", ";
            text += (r.space == Space::pio ? "pio:" : "mmio:") + std::to_string(r.size);
        }
        return text;
    }

    std::string name_;
    Host host_;
    Settings settings_;
    std::vector<Region> regions_;
    uint32_t irq_count_ = 0;
    bool has_irqchip_ = false;
};

// Derive from this; the host calls read/write for guest accesses inside the
// device's regions. Unless the plugin declares itself thread-safe, the host
// never calls two methods of one instance at the same time.
class Device {
public:
    explicit Device(const DeviceContext &context)
        : host_(context.host()), name_(context.name()), irq_count_(context.irq_count()),
          has_irqchip_(context.has_irqchip())
    {
    }
    virtual ~Device() = default;
    Device(const Device &) = delete;
    Device &operator=(const Device &) = delete;

    // Fill `data` (1, 2, 4 or 8 bytes, little-endian). Default: all ones,
    // what an unconnected bus line reads.
    virtual void read(uint32_t region, uint64_t offset, std::span<uint8_t> data)
    {
        (void)region;
        (void)offset;
        for (uint8_t &b : data)
            b = 0xff;
    }
    // Default: writes are ignored.
    virtual void write(uint32_t region, uint64_t offset, std::span<const uint8_t> data)
    {
        (void)region;
        (void)offset;
        (void)data;
    }

    // ABI 1.2: called after every VM exit when the plugin's PluginInfo sets
    // `observes_exits`; the event is valid during the call only.
    virtual void observe_exit(const vmm_exit_event &event) { (void)event; }

    // ABI 1.3: bring the device to rest and return its state (see
    // StateWriter); and take a state back (see StateReader; throw StateError
    // for a blob you cannot use). Override both (VMM_PLUGIN refuses to build
    // a class that overrides only one): that alone gives the device state.
    virtual std::vector<uint8_t> save_state() { return {}; }
    virtual void load_state(std::span<const uint8_t> blob) { (void)blob; }

    // ABI 1.4 lifecycle (see <vmm/plugin_abi.h>, "A device's life").
    // realize: the VM exists, no vCPU ran yet; take interrupt lines, timers,
    // watches and doorbells from `runtime` (the Runtime itself is only valid
    // during the call; the handles it returns live as long as you keep them).
    // Throw ConfigError (or let a RuntimeError escape) to refuse.
    virtual void realize(Runtime &runtime) { (void)runtime; }
    // quiesce: come to rest (no runtime callback arrives until resume); stop
    // threads of your own. resume: go on as before.
    virtual void quiesce() {}
    virtual void resume() {}

    const Host &host() const noexcept { return host_; }
    const std::string &name() const noexcept { return name_; }
    Runtime runtime() const noexcept { return Runtime(host_, irq_count_, has_irqchip_); }

private:
    Host host_;
    std::string name_;
    uint32_t irq_count_ = 0;
    bool has_irqchip_ = false;
};

} // namespace vmm::sdk
