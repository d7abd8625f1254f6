// debug-exit: a guest write of value v ends the VM, with exit status v
// (encoding "plain", the default) or (v << 1) | 1 as QEMU's isa-debug-exit
// does (encoding "qemu").
//
// State: stable.
// Missing: nothing for its purpose. The OS keeps the low 8 bits of a status:
//          under "qemu" a guest can produce only odd statuses (1, 3, ...,
//          255), so none of vmm's own failure statuses (2 for bad input, 124,
//          130, 143) and not 0 either; under "plain" any 0..255.
// Documentation: modelled on QEMU's hw/misc/debugexit.c.
#include <vmm/sdk.hpp>

#include <array>
#include <string>

namespace {

constexpr const char *kEncodings[] = {"plain", "qemu", nullptr};
constexpr vmm_config_key kEncodingKey = vmm::sdk::with_choices(
    vmm::sdk::with_default(vmm::sdk::string_key("encoding", "\"plain\": a write of v exits with v; \"qemu\": with "
                                                            "(v << 1) | 1, as isa-debug-exit"),
                           "plain"),
    kEncodings);
constexpr std::array kKeys = {kEncodingKey};
constexpr std::array kRegions = {vmm::sdk::pio_region(0xf4, 4)};

class DebugExit final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        return vmm::sdk::PluginInfo{"debug-exit", "1.1.0",
                                    "a guest write of value v ends the VM with exit status v, or (v << 1) | 1 with "
                                    "encoding = \"qemu\"",
                                    kKeys, kRegions};
    }

    explicit DebugExit(const vmm::sdk::DeviceContext &context)
        : Device(context), qemu_(parse_encoding(context.settings().get_string(kEncodingKey).value()))
    {
        if (context.regions().empty())
            throw vmm::sdk::ConfigError("needs at least one port I/O or MMIO region");
    }

    void read(uint32_t, uint64_t, std::span<uint8_t> data) override { vmm::sdk::store_le(data, 0); }

    void write(uint32_t, uint64_t, std::span<const uint8_t> data) override
    {
        const uint64_t value = vmm::sdk::load_le(data);
        if (qemu_) {
            // isa-debug-exit: exit((val << 1) | 1), of which the OS keeps 8 bits.
            const auto status = static_cast<int32_t>(((value << 1) | 1) & 0xff);
            host().info("guest wrote %llu: exit status %d ((v << 1) | 1, QEMU's encoding)",
                        static_cast<unsigned long long>(value), status);
            host().request_stop(status);
            return;
        }
        const auto status = static_cast<int32_t>(value);
        host().info("guest requested exit with status %d", status);
        host().request_stop(status);
    }

private:
    static bool parse_encoding(const std::string &encoding)
    {
        if (encoding == "qemu")
            return true;
        if (encoding == "plain")
            return false;
        throw vmm::sdk::ConfigError("setting 'encoding' must be \"plain\" or \"qemu\", not \"" + encoding + "\"");
    }

    bool qemu_;
};

} // namespace

VMM_PLUGIN(DebugExit)
