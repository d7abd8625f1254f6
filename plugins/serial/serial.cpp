// serial: a 16550-compatible UART subset whose output goes to stdout.
//
// State: stable for polled output and canned input.
// Missing: interrupts (no IRQ line yet), loopback (MCR bit 4), baud-rate
//          timing, modem-status changes, break and error conditions.
// Ignored bits: divisor latch, IER, LCR, MCR and FCR are stored and read
//          back, but change nothing.
// Documentation: TI PC16550D datasheet (SLLS057), register map in table 2.
//
// Every byte written to THR reaches stdout at once through write(2): the
// VMM buffers nothing, so nothing is lost if it dies right after.
#include <vmm/sdk.hpp>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <string>

namespace {

using vmm::sdk::DeviceContext;
using vmm::sdk::PluginInfo;

namespace reg {
constexpr uint64_t kData = 0;        // THR (write) / RBR (read); DLL when DLAB
constexpr uint64_t kIer = 1;         // interrupt enable; DLM when DLAB
constexpr uint64_t kIirFcr = 2;      // IIR (read) / FCR (write)
constexpr uint64_t kLcr = 3;         // line control; bit 7 = DLAB
constexpr uint64_t kMcr = 4;         // modem control
constexpr uint64_t kLsr = 5;         // line status
constexpr uint64_t kMsr = 6;         // modem status
constexpr uint64_t kScratch = 7;
constexpr uint64_t kCount = 8;
} // namespace reg

constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrThrEmpty = 0x20;   // THRE: the guest may write THR
constexpr uint8_t kLsrTxIdle = 0x40;     // TEMT: nothing left to shift out
constexpr uint8_t kIirNoInterrupt = 0x01;
constexpr uint8_t kIirFifoEnabled = 0xc0;
constexpr uint8_t kMsrConnected = 0xb0;  // DCD, DSR and CTS asserted

constexpr std::array kKeys = {
    vmm::sdk::string_key("input", "bytes the guest reads from RBR, in order (default: none)"),
};
constexpr std::array kRegions = {vmm::sdk::pio_region(0x3f8, reg::kCount)};

class Serial final : public vmm::sdk::Device {
public:
    static PluginInfo plugin_info()
    {
        return PluginInfo{"serial", "1.0.0", "16550 UART subset at a port base; transmits to stdout", kKeys, kRegions};
    }

    explicit Serial(const DeviceContext &context) : Device(context)
    {
        context.require_regions(vmm::sdk::Space::pio, 1, reg::kCount);
        for (char c : context.settings().get_string("input", ""))
            input_.push_back(static_cast<uint8_t>(c));
    }

    void read(uint32_t, uint64_t offset, std::span<uint8_t> data) override
    {
        // Registers are bytes; a wider access reads consecutive registers.
        for (std::size_t i = 0; i < data.size(); ++i)
            data[i] = read_register(offset + i);
    }

    void write(uint32_t, uint64_t offset, std::span<const uint8_t> data) override
    {
        for (std::size_t i = 0; i < data.size(); ++i)
            write_register(offset + i, data[i]);
    }

private:
    bool dlab() const { return (lcr_ & kLcrDlab) != 0; }

    uint8_t read_register(uint64_t offset)
    {
        switch (offset) {
        case reg::kData:
            if (dlab())
                return divisor_low_;
            if (input_.empty())
                return 0;
            {
                const uint8_t byte = input_.front();
                input_.pop_front();
                return byte;
            }
        case reg::kIer: return dlab() ? divisor_high_ : ier_;
        case reg::kIirFcr: return kIirNoInterrupt | (fifo_enabled_ ? kIirFifoEnabled : 0);
        case reg::kLcr: return lcr_;
        case reg::kMcr: return mcr_;
        case reg::kLsr: return kLsrThrEmpty | kLsrTxIdle | (input_.empty() ? 0 : kLsrDataReady);
        case reg::kMsr: return kMsrConnected;
        case reg::kScratch: return scratch_;
        default: return 0xff; // beyond the 8 registers of a region made larger
        }
    }

    void write_register(uint64_t offset, uint8_t value)
    {
        switch (offset) {
        case reg::kData:
            if (dlab())
                divisor_low_ = value;
            else
                transmit(value);
            break;
        case reg::kIer:
            if (dlab())
                divisor_high_ = value;
            else
                ier_ = value & 0x0f;
            break;
        case reg::kIirFcr: fifo_enabled_ = (value & 0x01) != 0; break;
        case reg::kLcr: lcr_ = value; break;
        case reg::kMcr: mcr_ = value & 0x1f; break;
        case reg::kScratch: scratch_ = value; break;
        default: break; // LSR and MSR are read-only
        }
    }

    void transmit(uint8_t byte)
    {
        for (;;) {
            const ssize_t written = ::write(STDOUT_FILENO, &byte, 1);
            if (written == 1)
                return;
            if (written < 0 && errno == EINTR)
                continue;
            if (!output_error_reported_) {
                host().error("cannot write to stdout (%s); further output is dropped", std::strerror(errno));
                output_error_reported_ = true;
            }
            return;
        }
    }

    std::deque<uint8_t> input_;
    uint8_t divisor_low_ = 0x01; // 115200 baud, as firmware leaves it
    uint8_t divisor_high_ = 0;
    uint8_t ier_ = 0;
    uint8_t lcr_ = 0x03; // 8N1
    uint8_t mcr_ = 0;
    uint8_t scratch_ = 0;
    bool fifo_enabled_ = false;
    bool output_error_reported_ = false;
};

} // namespace

VMM_PLUGIN(Serial)
