// console: the Bochs/QEMU "debugcon" port; bytes the guest writes go to stdout.
//
// State: stable.
// Missing: input (a read never returns guest input, only the 0xE9 marker),
//          a choice of output file or chardev (QEMU's chardev=...), and
//          QEMU's configurable read-back value (readback=).
// Documentation: the Bochs "port E9 hack" (bochsrc option port_e9_hack in
//          the Bochs user manual); QEMU's hw/char/debugcon.c.
//
// Every byte of a write, whatever the offset and size of the access, goes
// to stdout in the order of the access's bytes, at once when stdout takes
// it, through the SDK's bounded non-blocking StdoutWriter: a reader that
// stops reading never holds the vCPU (what does not fit is dropped and
// counted). Every byte
// of a read is 0xE9, which is how a guest detects the port (Bochs and QEMU
// answer the same).
#include <vmm/sdk.hpp>

#include <array>

namespace {

constexpr uint8_t kReadBack = 0xe9;
constexpr std::array kRegions = {vmm::sdk::pio_region(0xe9, 1)};

class Console final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        return vmm::sdk::PluginInfo{"console", "1.0.0",
                                    "Bochs/QEMU debug console (port 0xE9): guest writes go to stdout", {},
                                    kRegions};
    }

    explicit Console(const vmm::sdk::DeviceContext &context) : Device(context), stdout_(host())
    {
        if (context.regions().empty())
            throw vmm::sdk::ConfigError("needs at least one port I/O or MMIO region");
    }

    void read(uint32_t, uint64_t, std::span<uint8_t> data) override
    {
        for (uint8_t &byte : data)
            byte = kReadBack;
    }

    void write(uint32_t, uint64_t, std::span<const uint8_t> data) override { stdout_.write(data.data(), data.size()); }

private:
    vmm::sdk::StdoutWriter stdout_;
};

} // namespace

VMM_PLUGIN(Console)
