// port-logger: logs every guest access to its ranges; reads return a setting.
//
// State: stable (a diagnostic device).
// Missing: a per-region or per-offset read value, a log file of its own
//          (lines go to the VMM's log, stderr), rate limiting for guests
//          that hammer a port.
// Documentation: none needed; it reproduces the "guest put io data: N"
//          trace of the chapter-2 KVM experiment (seed 003) for any range.
//
// Each access is one info line through the host's logger (named after the
// instance), e.g.
//     out  port+0x0 (region 0) size 2 value 0x0001
//     in   port+0x1 (region 0) size 1 value 0xff
//     write mmio+0x10 (region 1) size 4 value 0x12345678
// with the direction (in/out for port I/O, read/write for MMIO), the offset
// inside the region, the region's index in the device's list, the access
// size in bytes, and the value (little-endian, as many hex digits as the
// access has bytes). A read returns `read_value` truncated to its size.
#include <vmm/sdk.hpp>

#include <array>
#include <string>
#include <vector>

namespace {

using vmm::sdk::Space;

constexpr std::array kKeys = {
    vmm::sdk::with_default(vmm::sdk::int_key("read_value", "value every read returns, truncated to the access size"),
                           "0xffffffff"),
};

class PortLogger final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        // No default region: the machine file says which ranges to watch.
        return vmm::sdk::PluginInfo{"port-logger", "1.0.0",
                                    "logs every access to its port I/O or MMIO ranges; reads return a setting",
                                    kKeys, {}};
    }

    explicit PortLogger(const vmm::sdk::DeviceContext &context)
        : Device(context), regions_(context.regions()),
          read_value_(static_cast<uint64_t>(context.settings().get_int(kKeys[0]).value()))
    {
        if (regions_.empty())
            throw vmm::sdk::ConfigError("needs at least one port I/O or MMIO region (give pio or mmio)");
    }

    void read(uint32_t region, uint64_t offset, std::span<uint8_t> data) override
    {
        vmm::sdk::store_le(data, read_value_);
        log(region, offset, data, false);
    }

    void write(uint32_t region, uint64_t offset, std::span<const uint8_t> data) override
    {
        log(region, offset, data, true);
    }

private:
    void log(uint32_t region, uint64_t offset, std::span<const uint8_t> data, bool is_write) const
    {
        const bool pio = region >= regions_.size() || regions_[region].space == Space::pio;
        const char *direction = pio ? (is_write ? "out " : "in  ") : (is_write ? "write" : "read ");
        host().info("%s %s+0x%llx (region %u) size %zu value %s", direction, pio ? "port" : "mmio",
                    static_cast<unsigned long long>(offset), region, data.size(), hex(data).c_str());
    }

    // "0x" and the bytes from the most significant down: the value as the
    // guest's register held it, two digits per byte of the access.
    static std::string hex(std::span<const uint8_t> data)
    {
        static constexpr char kDigits[] = "0123456789abcdef";
        std::string text = "0x";
        for (std::size_t i = data.size(); i-- > 0;) {
            text += kDigits[data[i] >> 4];
            text += kDigits[data[i] & 0xf];
        }
        return text;
    }

    std::vector<vmm::sdk::Region> regions_;
    uint64_t read_value_;
};

} // namespace

VMM_PLUGIN(PortLogger)
