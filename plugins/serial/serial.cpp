// serial: a 16550A UART whose output goes to the VMM's stdout.
//
// State: stable; interrupt-driven and polling drivers; movable (hot swap)
//        to and from serial-file, which shares the core and the state
//        format ("uart16550" v2; v1 blobs load).
// Missing: baud-rate pacing of output (bytes leave at once), parity and
//          framing errors (the line never makes them), modem lines other
//          than in loopback, DMA mode signalling (FCR bit 3).
// Ignored bits: LCR's word length, stop bits and parity only time the
//          character timeout; LCR bit 6 (break control); FCR bit 3.
// Documentation: TI PC16550D datasheet (SLLS057).
//
// See uart_device.hpp for the input back ends and the back-pressure rule.
#include "uart_device.hpp"

#include <unistd.h>

namespace {

constexpr std::array kKeys = {uart::kInputKey, uart::kInputFromKey};

class Serial final : public uart::UartDevice {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        vmm::sdk::PluginInfo info{"serial", "2.0.0", "16550A UART at a port base; transmits to stdout", kKeys,
                                  uart::kDefaultRegions};
        info.default_irqs = uart::kDefaultIrqs;
        info.has_state = true;
        return info;
    }

    explicit Serial(const vmm::sdk::DeviceContext &context) : UartDevice(context, "stdout")
    {
        try {
            output_to(STDOUT_FILENO);
        } catch (const std::exception &e) {
            throw vmm::sdk::ConfigError(std::string("cannot use stdout: ") + e.what());
        }
    }
};

} // namespace

VMM_PLUGIN(Serial)
