// debug-exit: a guest write of value v ends the VM with exit status v.
//
// State: stable.
// Missing: nothing for its purpose. Unlike QEMU's isa-debug-exit, which
//          exits with (v << 1) | 1, the value is passed through unchanged
//          (the OS keeps its low 8 bits).
// Documentation: modelled on QEMU's hw/misc/debugexit.c.
#include <vmm/sdk.hpp>

#include <array>

namespace {

constexpr std::array kRegions = {vmm::sdk::pio_region(0xf4, 4)};

class DebugExit final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        return vmm::sdk::PluginInfo{"debug-exit", "1.0.0",
                                    "a guest write of value v ends the VM with exit status v", {}, kRegions};
    }

    explicit DebugExit(const vmm::sdk::DeviceContext &context) : Device(context)
    {
        if (context.regions().empty())
            throw vmm::sdk::ConfigError("needs at least one port I/O or MMIO region");
    }

    void read(uint32_t, uint64_t, std::span<uint8_t> data) override { vmm::sdk::store_le(data, 0); }

    void write(uint32_t, uint64_t, std::span<const uint8_t> data) override
    {
        const auto value = static_cast<int32_t>(vmm::sdk::load_le(data));
        host().info("guest requested exit with status %d", value);
        host().request_stop(value);
    }
};

} // namespace

VMM_PLUGIN(DebugExit)
