// serial: a 16550-compatible UART subset whose output goes to stdout.
//
// State: stable for polled output and canned input; movable (hot swap) to
// and from serial-file, which shares its state format.
// Missing: interrupts (no IRQ line in the ABI yet), loopback (MCR bit 4),
//          baud-rate timing, modem-status changes, break and error conditions.
// Ignored bits: divisor latch, IER, LCR, MCR and FCR are stored and read
//          back, but change nothing.
// Documentation: TI PC16550D datasheet (SLLS057), register map in table 2.
//
// Every byte written to THR reaches stdout at once through write(2): the
// VMM buffers nothing, so nothing is lost if it dies right after.
#include "uart16550.hpp"

#include <array>
#include <string>

namespace {

constexpr std::array kKeys = {
    vmm::sdk::string_key("input", "bytes the guest reads from RBR, in order (default: none)"),
};
constexpr std::array kRegions = {vmm::sdk::pio_region(0x3f8, uart::reg::kCount)};

class Serial final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        vmm::sdk::PluginInfo info{"serial", "1.1.0", "16550 UART subset at a port base; transmits to stdout", kKeys,
                                  kRegions};
        info.has_state = true;
        return info;
    }

    explicit Serial(const vmm::sdk::DeviceContext &context)
        : Device(context), stdout_(host()), uart_([this](uint8_t byte) { stdout_.write(&byte, 1); })
    {
        context.require_regions(vmm::sdk::Space::pio, 1, uart::reg::kCount);
        const std::string input = context.settings().get_string("input", "");
        uart_.set_input(std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(input.data()), input.size()));
    }

    void read(uint32_t, uint64_t offset, std::span<uint8_t> data) override { uart_.read(offset, data); }
    void write(uint32_t, uint64_t offset, std::span<const uint8_t> data) override { uart_.write(offset, data); }
    std::vector<uint8_t> save_state() override { return uart_.save(); }
    void load_state(std::span<const uint8_t> blob) override { uart_.load(blob); }

private:
    vmm::sdk::StdoutWriter stdout_;
    uart::Uart16550 uart_;
};

} // namespace

VMM_PLUGIN(Serial)
