// The UART's state blob, "uart16550":
//  v1 (serial 1.1, serial-file 1.0): DLL, DLM, IER, LCR, MCR, SCR, FIFO
//     enabled, then the input not read yet. Still loaded: a swap from an
//     older plugin works.
//  v2: DLL, DLM, IER, LCR, MCR, SCR, FCR, LSR error bits, flags (bit 0 LSR
//     bit 7, bit 1 THRE interrupt latched, bit 2 character timeout), MSR;
//     the receive FIFO's bytes and their break flags; the bytes waiting to
//     be transmitted (output the device could not write yet, then the
//     transmit FIFO); the queued input; the count of dropped bytes.
#include "uart16550.hpp"

#include <vmm/sdk/state.hpp>

namespace uart {
namespace {

constexpr uint8_t kFlagFifoError = 0x01;
constexpr uint8_t kFlagThre = 0x02;
constexpr uint8_t kFlagTimeout = 0x04;
// Refuse absurd blobs before allocating: the output buffer is 16 KiB.
constexpr std::size_t kMaxTxBytes = 1 << 20;

} // namespace

std::vector<uint8_t> Uart16550::save(std::span<const uint8_t> unsent) const
{
    vmm::sdk::StateWriter w(kStateFormat, kStateVersion);
    w.u8(dll_).u8(dlm_).u8(ier_).u8(lcr_).u8(mcr_).u8(scr_).u8(fcr_).u8(lsr_errors_);
    w.u8((fifo_error_ ? kFlagFifoError : 0) | (thre_pending_ ? kFlagThre : 0) | (timeout_pending_ ? kFlagTimeout : 0));
    w.u8(msr_);
    std::vector<uint8_t> rx_bytes, rx_breaks;
    for (const RxEntry &e : rx_) {
        rx_bytes.push_back(e.byte);
        rx_breaks.push_back(e.brk ? 1 : 0);
    }
    w.bytes(rx_bytes).bytes(rx_breaks);
    std::vector<uint8_t> tx(unsent.begin(), unsent.end());
    tx.insert(tx.end(), tx_.begin(), tx_.end());
    w.bytes(tx);
    w.bytes(std::vector<uint8_t>(pending_.begin(), pending_.end()));
    w.u64(tx_dropped_);
    return w.finish();
}

void Uart16550::load(std::span<const uint8_t> blob)
{
    vmm::sdk::StateReader r(blob, kStateFormat, kStateVersion, 1);
    Uart16550 next(port_); // built aside: nothing changes unless the whole blob is good
    next.dll_ = r.u8();
    next.dlm_ = r.u8();
    next.ier_ = r.u8() & kIerMask;
    next.lcr_ = r.u8();
    next.mcr_ = r.u8() & kMcrMask;
    next.scr_ = r.u8();
    std::vector<uint8_t> pending;
    if (r.version() == 1) {
        next.fifo_enabled_ = r.boolean();
        next.fcr_ = next.fifo_enabled_ ? kFcrEnable : 0;
        pending = r.bytes();
        r.finish();
        // v1 had no interrupts: THR was empty, as it is now.
        next.thre_pending_ = (next.ier_ & kIerThre) != 0;
        next.msr_ = next.modem_lines();
    } else {
        next.fcr_ = r.u8() & (kFcrEnable | kFcrTriggerMask);
        next.fifo_enabled_ = (next.fcr_ & kFcrEnable) != 0;
        next.lsr_errors_ = r.u8() & kLsrErrors;
        const uint8_t flags = r.u8();
        next.fifo_error_ = (flags & kFlagFifoError) != 0;
        next.thre_pending_ = (flags & kFlagThre) != 0;
        next.timeout_pending_ = (flags & kFlagTimeout) != 0;
        next.msr_ = r.u8();
        const std::vector<uint8_t> rx_bytes = r.bytes();
        const std::vector<uint8_t> rx_breaks = r.bytes();
        const std::vector<uint8_t> tx = r.bytes();
        pending = r.bytes();
        next.tx_dropped_ = r.u64();
        r.finish();
        if (rx_bytes.size() != rx_breaks.size() || rx_bytes.size() > next.fifo_capacity())
            throw vmm::sdk::StateError("uart16550 state: receive FIFO of " + std::to_string(rx_bytes.size()) +
                                       " bytes does not fit");
        if (tx.size() > kMaxTxBytes)
            throw vmm::sdk::StateError("uart16550 state: " + std::to_string(tx.size()) +
                                       " bytes to transmit is more than this device holds");
        for (std::size_t i = 0; i < rx_bytes.size(); ++i)
            next.rx_.push_back({rx_bytes[i], rx_breaks[i] != 0, rx_breaks[i] == 0});
        next.tx_.assign(tx.begin(), tx.end());
    }
    next.pending_.assign(pending.begin(), pending.end());

    // Commit, keeping this instance's port and interrupt level.
    const bool level = irq_level_;
    next.port_ = std::move(port_);
    *this = std::move(next);
    irq_level_ = level;
    depth_ = 0;
    timer_armed_ = false;
    {
        // The receive timer restarts from now; waiting output goes out.
        if (port_.now_ns)
            last_rx_activity_ns_ = port_.now_ns();
        refill_rx();
        arm_timeout();
        pump_tx();
    }
    resync_interrupt();
}

} // namespace uart
