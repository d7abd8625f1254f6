// The 16550A's registers, transmitter, control and status registers and
// its interrupt output. Section numbers are the TI PC16550D datasheet's
// (SLLS057); the receiver is in uart16550_receive.cpp.
#include "uart16550.hpp"

#include <algorithm>

namespace uart {

Uart16550::Uart16550(UartPort port) : port_(std::move(port)) {}

void Uart16550::read(uint64_t offset, std::span<uint8_t> data)
{
    const Batch batch(*this);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = read_register(offset + i);
}

void Uart16550::write(uint64_t offset, std::span<const uint8_t> data)
{
    const Batch batch(*this);
    for (std::size_t i = 0; i < data.size(); ++i)
        write_register(offset + i, data[i]);
}

uint8_t Uart16550::read_register(uint64_t offset)
{
    switch (offset) {
    case reg::kData: return dlab() ? dll_ : read_rbr();
    case reg::kIer: return dlab() ? dlm_ : ier_;
    case reg::kIirFcr: return read_iir();
    case reg::kLcr: return lcr_;
    case reg::kMcr: return mcr_;
    case reg::kLsr: return read_lsr();
    case reg::kMsr: return read_msr();
    case reg::kScratch: return scr_;
    default: return 0xff; // beyond the 8 registers of a region made larger
    }
}

void Uart16550::write_register(uint64_t offset, uint8_t value)
{
    switch (offset) {
    case reg::kData:
        if (dlab())
            dll_ = value;
        else
            write_thr(value);
        break;
    case reg::kIer:
        if (dlab())
            dlm_ = value;
        else
            write_ier(value);
        break;
    case reg::kIirFcr: write_fcr(value); break;
    case reg::kLcr: lcr_ = value; break;
    case reg::kMcr: write_mcr(value); break;
    case reg::kScratch: scr_ = value; break;
    default: break; // LSR and MSR are read-only (8.4: writing LSR is for factory test)
    }
}

// ---- transmit ----

void Uart16550::write_thr(uint8_t value)
{
    // 8.5: writing THR clears the THRE interrupt.
    thre_pending_ = false;
    if (tx_.size() >= fifo_capacity()) {
        // The guest ignored THRE: the byte has nowhere to go.
        ++tx_dropped_;
        if (port_.dropped)
            port_.dropped(tx_dropped_);
        return;
    }
    tx_.push_back(value);
    pump_tx();
}

void Uart16550::tx_ready()
{
    const Batch batch(*this);
    pump_tx();
}

// Move bytes from the transmit FIFO to the output (or, in loopback, to the
// receiver) as long as it takes them.
void Uart16550::pump_tx()
{
    if (tx_.empty())
        return;
    while (!tx_.empty()) {
        if (loopback()) {
            push_rx({tx_.front(), false});
        } else if (!port_.transmit || !port_.transmit(tx_.front())) {
            return;
        }
        tx_.pop_front();
    }
    // 8.5: THRE is set again when the transmitter empties.
    thre_pending_ = true;
}

void Uart16550::clear_tx()
{
    const bool had = !tx_.empty();
    tx_.clear();
    if (had)
        thre_pending_ = true;
}

// ---- control registers ----

void Uart16550::write_ier(uint8_t value)
{
    const uint8_t old = ier_;
    ier_ = value & kIerMask;
    // Enabling ETBEI while THR is empty raises the THRE interrupt at once
    // (drivers rely on it to start a transfer); disabling it drops it.
    if ((ier_ & kIerThre) && !(old & kIerThre) && tx_.empty())
        thre_pending_ = true;
    else if (!(ier_ & kIerThre))
        thre_pending_ = false;
}

void Uart16550::write_fcr(uint8_t value)
{
    const bool enable = (value & kFcrEnable) != 0;
    if (enable != fifo_enabled_) {
        // 8.8: changing FCR0 clears both FIFOs.
        fifo_enabled_ = enable;
        clear_rx();
        clear_tx();
    }
    if (!enable) {
        fcr_ = 0;
        return;
    }
    // The other bits are programmed only with FCR0 set.
    fcr_ = value & (kFcrEnable | kFcrTriggerMask);
    if (value & kFcrClearRx)
        clear_rx();
    if (value & kFcrClearTx)
        clear_tx();
    arm_timeout();
}

void Uart16550::write_mcr(uint8_t value)
{
    const bool was_loop = loopback();
    mcr_ = value & kMcrMask;
    set_modem_lines(modem_lines());
    if (loopback() != was_loop) {
        // Leaving loopback reconnects the input and the output.
        refill_rx();
        pump_tx();
        if (!loopback() && rx_room() > 0 && port_.rx_space)
            port_.rx_space();
    }
}

// 8.7: in loopback the modem inputs follow the outputs: CTS = RTS,
// DSR = DTR, RI = OUT1, DCD = OUT2.
uint8_t Uart16550::modem_lines() const
{
    if (!loopback())
        return kMsrConnected;
    return ((mcr_ & kMcrRts) ? kMsrCts : 0) | ((mcr_ & kMcrDtr) ? kMsrDsr : 0) | ((mcr_ & kMcrOut1) ? kMsrRi : 0) |
           ((mcr_ & kMcrOut2) ? kMsrDcd : 0);
}

void Uart16550::set_modem_lines(uint8_t lines)
{
    const uint8_t old = msr_ & ~kMsrDeltas;
    const uint8_t changed = old ^ lines;
    uint8_t deltas = msr_ & kMsrDeltas;
    if (changed & kMsrCts)
        deltas |= kMsrDeltaCts;
    if (changed & kMsrDsr)
        deltas |= kMsrDeltaDsr;
    if ((old & kMsrRi) && !(lines & kMsrRi))
        deltas |= kMsrTrailingRi; // trailing edge only
    if (changed & kMsrDcd)
        deltas |= kMsrDeltaDcd;
    msr_ = lines | deltas;
}

// ---- status registers ----

uint8_t Uart16550::lsr_value() const
{
    uint8_t lsr = lsr_errors_;
    if (!rx_.empty())
        lsr |= kLsrDataReady;
    if (tx_.empty())
        lsr |= kLsrThre | kLsrTemt; // the shift register empties at once
    if (fifo_enabled_ && fifo_error_)
        lsr |= kLsrFifoError;
    return lsr;
}

uint8_t Uart16550::read_lsr()
{
    pump_tx(); // where no watch drains the output, polling LSR does
    check_timeout();
    const uint8_t lsr = lsr_value();
    // 8.4: reading LSR clears the error bits (and the line-status
    // interrupt); bit 7 stays while errored characters remain.
    lsr_errors_ = 0;
    fifo_error_ = std::any_of(rx_.begin(), rx_.end(), [](const RxEntry &e) { return e.brk; });
    return lsr;
}

uint8_t Uart16550::read_msr()
{
    const uint8_t msr = msr_;
    msr_ &= ~kMsrDeltas;
    return msr;
}

// 8.3, table 4: line status > received data / timeout > THRE > modem status.
uint8_t Uart16550::interrupt_id() const
{
    if ((ier_ & kIerLineStatus) && (lsr_errors_ & kLsrErrors))
        return kIirLineStatus;
    if (ier_ & kIerRxData) {
        if (timeout_pending_)
            return kIirTimeout;
        if (!rx_.empty() && (!fifo_enabled_ || rx_.size() >= rx_trigger()))
            return kIirRxData;
    }
    if ((ier_ & kIerThre) && thre_pending_)
        return kIirThre;
    if ((ier_ & kIerModem) && (msr_ & kMsrDeltas))
        return kIirModem;
    return kIirNone;
}

uint8_t Uart16550::read_iir()
{
    check_timeout();
    const uint8_t id = interrupt_id();
    // 8.3: reading IIR clears the THRE interrupt when it is the one shown.
    if (id == kIirThre)
        thre_pending_ = false;
    return id | (fifo_enabled_ ? kIirFifoEnabled : 0);
}

// ---- the interrupt output ----

// On a PC the UART's interrupt pin reaches the PIC only through a buffer
// enabled by OUT2; in loopback the chip forces OUT2 inactive (8.7).
bool Uart16550::output_level() const
{
    return interrupt_id() != kIirNone && (mcr_ & kMcrOut2) && !loopback();
}

void Uart16550::update_interrupt()
{
    const bool level = output_level();
    if (level == irq_level_)
        return;
    irq_level_ = level;
    if (port_.interrupt)
        port_.interrupt(level);
}

void Uart16550::resync_interrupt()
{
    irq_level_ = output_level();
    if (port_.interrupt)
        port_.interrupt(irq_level_);
}

} // namespace uart
