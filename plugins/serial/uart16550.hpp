// The register model of a 16550 UART subset, shared by the plugins that
// implement the same device with different outputs (serial: stdout;
// serial-file: a file or a UNIX socket). Same registers, same state format
// ("uart16550", version 1), so one can replace the other while a guest runs.
//
// Documentation: TI PC16550D datasheet (SLLS057), table 2 (register map)
// and section 8.4 (LSR).
#pragma once

#include <vmm/sdk.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <vector>

namespace uart {

namespace reg {
constexpr uint64_t kData = 0;   // THR (write) / RBR (read); DLL when DLAB
constexpr uint64_t kIer = 1;    // interrupt enable; DLM when DLAB
constexpr uint64_t kIirFcr = 2; // IIR (read) / FCR (write)
constexpr uint64_t kLcr = 3;    // line control; bit 7 = DLAB
constexpr uint64_t kMcr = 4;    // modem control
constexpr uint64_t kLsr = 5;    // line status
constexpr uint64_t kMsr = 6;    // modem status
constexpr uint64_t kScratch = 7;
constexpr uint64_t kCount = 8;
} // namespace reg

constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrThrEmpty = 0x20; // THRE: the guest may write THR
constexpr uint8_t kLsrTxIdle = 0x40;   // TEMT: nothing left to shift out
constexpr uint8_t kIirNoInterrupt = 0x01;
constexpr uint8_t kIirFifoEnabled = 0xc0;
constexpr uint8_t kMsrConnected = 0xb0; // DCD, DSR and CTS asserted

constexpr const char *kStateFormat = "uart16550";
constexpr uint32_t kStateVersion = 1;

class Uart16550 {
public:
    // `transmit` receives each byte the guest writes to THR, at once.
    explicit Uart16550(std::function<void(uint8_t)> transmit) : transmit_(std::move(transmit)) {}

    void set_input(std::span<const uint8_t> bytes) { input_.assign(bytes.begin(), bytes.end()); }

    // Registers are bytes; a wider access touches consecutive registers.
    void read(uint64_t offset, std::span<uint8_t> data)
    {
        for (std::size_t i = 0; i < data.size(); ++i)
            data[i] = read_register(offset + i);
    }
    void write(uint64_t offset, std::span<const uint8_t> data)
    {
        for (std::size_t i = 0; i < data.size(); ++i)
            write_register(offset + i, data[i]);
    }

    std::vector<uint8_t> save() const
    {
        vmm::sdk::StateWriter w(kStateFormat, kStateVersion);
        w.u8(divisor_low_).u8(divisor_high_).u8(ier_).u8(lcr_).u8(mcr_).u8(scratch_).boolean(fifo_enabled_);
        w.bytes(std::vector<uint8_t>(input_.begin(), input_.end()));
        return w.finish();
    }
    void load(std::span<const uint8_t> blob)
    {
        vmm::sdk::StateReader r(blob, kStateFormat, kStateVersion);
        const uint8_t divisor_low = r.u8(), divisor_high = r.u8(), ier = r.u8(), lcr = r.u8(), mcr = r.u8(),
                      scratch = r.u8();
        const bool fifo = r.boolean();
        const std::vector<uint8_t> input = r.bytes();
        r.finish(); // only now, with the whole blob valid, change anything
        divisor_low_ = divisor_low, divisor_high_ = divisor_high, ier_ = ier & 0x0f, lcr_ = lcr, mcr_ = mcr & 0x1f;
        scratch_ = scratch, fifo_enabled_ = fifo;
        input_.assign(input.begin(), input.end());
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
                transmit_(value);
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

    std::function<void(uint8_t)> transmit_;
    std::deque<uint8_t> input_;
    uint8_t divisor_low_ = 0x01; // 115200 baud, as firmware leaves it
    uint8_t divisor_high_ = 0;
    uint8_t ier_ = 0;
    uint8_t lcr_ = 0x03; // 8N1
    uint8_t mcr_ = 0;
    uint8_t scratch_ = 0;
    bool fifo_enabled_ = false;
};

} // namespace uart

