// A 16550A UART, modelled for interrupt-driven and polling drivers, shared
// by the plugins that implement the same device with different outputs
// (serial: stdout; serial-file: a file or a UNIX socket). Same registers,
// same state format ("uart16550", version 2; version 1 still loads), so one
// replaces the other while a guest runs.
//
// Plain C++: what it needs from the world around it (the interrupt wire,
// the transmit line, a clock and a timer) comes through UartPort, so unit
// tests drive it without a host.
//
// Transmission takes no time: a byte written to THR leaves at once if the
// output takes it. When the output is full the byte waits in the transmit
// FIFO (THR without FIFOs) and LSR shows THRE and TEMT clear, so a polling
// driver waits; a byte written while that FIFO is full is dropped and
// counted. Reception is paced by the input: bytes enter the receive FIFO
// only while it has room (rx_room()).
//
// Documentation: TI PC16550D datasheet (SLLS057), table 2 and section 8.
#pragma once

#include "uart16550_regs.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <vector>

namespace uart {

constexpr const char *kStateFormat = "uart16550";
constexpr uint32_t kStateVersion = 2;

struct UartPort {
    // The interrupt output (an interrupt pending and MCR.OUT2) changed.
    std::function<void(bool level)> interrupt;
    // A byte leaves the transmitter. False: the output has no room now;
    // the byte stays in the transmitter until tx_ready() is called.
    std::function<bool(uint8_t byte)> transmit;
    // The receive FIFO has room again: more input may be fed.
    std::function<void()> rx_space;
    // Nanoseconds on a monotonic clock, for the character timeout.
    std::function<uint64_t()> now_ns;
    // Call timeout_expired() in `delay_ns` (replacing any earlier request).
    std::function<void(uint64_t delay_ns)> arm_timer;
    // The transmit FIFO overflowed: `total` bytes dropped so far.
    std::function<void(uint64_t total)> dropped;
};

class Uart16550 {
public:
    explicit Uart16550(UartPort port);

    // Guest accesses: registers are bytes; a wider access touches
    // consecutive registers, in order.
    void read(uint64_t offset, std::span<uint8_t> data);
    void write(uint64_t offset, std::span<const uint8_t> data);

    // ---- the line side ----
    // Bytes receive() takes now without an overrun (0 in loopback, where
    // the serial input is disconnected).
    std::size_t rx_room() const;
    // A byte arrives (past rx_room(): an overrun, as on the chip).
    void receive(uint8_t byte);
    // A break arrives: a zero byte flagged BI, a line-status interrupt.
    void receive_break();
    // Bytes that arrive as fast as the FIFO takes them (the `input`
    // setting): held here and moved in whenever there is room.
    void queue_input(std::span<const uint8_t> bytes);
    // Queued input not in the FIFO yet.
    std::size_t queued() const { return pending_.size(); }
    // The output has room again: move waiting bytes along.
    void tx_ready();
    // The timer asked for with arm_timer() went off.
    void timeout_expired();
    // Transmitted bytes still waiting for the output.
    bool tx_waiting() const { return !tx_.empty(); }

    uint64_t tx_dropped() const { return tx_dropped_; }
    bool interrupt_level() const { return irq_level_; }
    // Tell the port the current level even if unchanged (a new instance
    // after a swap, whose line starts low).
    void resync_interrupt();

    // State: `unsent` is output the device took but could not write yet;
    // it travels with the transmit FIFO and goes out first after load.
    std::vector<uint8_t> save(std::span<const uint8_t> unsent = {}) const;
    void load(std::span<const uint8_t> blob);

private:
    // Updates the interrupt output once, when the outermost call returns,
    // so that one access never shows the guest a glitch (say, THRE cleared
    // by a THR write and set again as the byte left at once).
    class Batch {
    public:
        explicit Batch(Uart16550 &uart) : uart_(uart) { ++uart_.depth_; }
        ~Batch()
        {
            if (--uart_.depth_ == 0)
                uart_.update_interrupt();
        }
        Batch(const Batch &) = delete;
        Batch &operator=(const Batch &) = delete;

    private:
        Uart16550 &uart_;
    };

    struct RxEntry {
        uint8_t byte;
        bool brk;
        bool input = false; // from the input, not loopback or a break
    };

    uint8_t read_register(uint64_t offset);
    void write_register(uint64_t offset, uint8_t value);
    uint8_t read_rbr();
    uint8_t read_iir();
    uint8_t read_lsr();
    uint8_t read_msr();
    void write_thr(uint8_t value);
    void write_ier(uint8_t value);
    void write_fcr(uint8_t value);
    void write_mcr(uint8_t value);

    bool dlab() const { return (lcr_ & kLcrDlab) != 0; }
    bool loopback() const { return (mcr_ & kMcrLoop) != 0; }
    std::size_t fifo_capacity() const { return fifo_enabled_ ? kFifoSize : 1; }
    std::size_t rx_trigger() const;
    uint8_t lsr_value() const;
    uint8_t interrupt_id() const; // the highest-priority source, or kIirNone

    void push_rx(RxEntry entry);
    void reveal_head_errors();
    void refill_rx();
    void pump_tx();
    void clear_rx();
    void clear_tx();
    void set_modem_lines(uint8_t lines);
    uint8_t modem_lines() const;

    uint64_t char_time_ns() const;
    uint64_t timeout_ns() const;
    void rx_activity();
    void check_timeout();
    void arm_timeout();

    bool output_level() const;
    void update_interrupt();

    UartPort port_;
    std::deque<RxEntry> rx_;      // the receive FIFO (one entry without FIFOs: RBR)
    std::deque<uint8_t> tx_;      // the transmit FIFO (THR) while the output is full
    std::deque<uint8_t> pending_; // queued input not yet in the FIFO
    uint8_t dll_ = 0x01;          // 115200 baud, as firmware leaves it
    uint8_t dlm_ = 0;
    uint8_t ier_ = 0;
    uint8_t lcr_ = 0x03; // 8N1
    uint8_t mcr_ = 0;
    uint8_t scr_ = 0;
    uint8_t fcr_ = 0;    // enable and trigger bits as written
    bool fifo_enabled_ = false;
    uint8_t lsr_errors_ = 0; // OE, PE, FE, BI until LSR is read
    bool fifo_error_ = false; // LSR bit 7
    uint8_t msr_ = kMsrConnected;
    bool thre_pending_ = false; // the THRE interrupt's own latch
    bool timeout_pending_ = false;
    uint64_t last_rx_activity_ns_ = 0;
    bool timer_armed_ = false;
    bool irq_level_ = false;
    uint64_t tx_dropped_ = 0;
    int depth_ = 0; // nested calls: the interrupt is updated once, at the end
};

} // namespace uart
