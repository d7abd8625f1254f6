// The 16550A's receiver: the receive FIFO (RBR without FIFOs), its error
// bits, the queued input, and the character timeout (datasheet 8.4, 8.6).
#include "uart16550.hpp"

#include <algorithm>

namespace uart {

// ---- receive ----

uint8_t Uart16550::read_rbr()
{
    if (rx_.empty())
        return 0;
    const uint8_t byte = rx_.front().byte;
    rx_.pop_front();
    // 8.6: reading a character clears the timeout indication and restarts
    // the timer.
    timeout_pending_ = false;
    rx_activity();
    reveal_head_errors();
    refill_rx();
    if (pending_.empty() && rx_room() > 0 && port_.rx_space)
        port_.rx_space();
    return byte;
}

std::size_t Uart16550::rx_room() const
{
    if (loopback())
        return 0;
    const std::size_t used = rx_.size() + pending_.size();
    return used >= fifo_capacity() ? 0 : fifo_capacity() - used;
}

void Uart16550::receive(uint8_t byte)
{
    const Batch batch(*this);
    push_rx({byte, false, true});
}

void Uart16550::receive_break()
{
    const Batch batch(*this);
    push_rx({0, true});
}

void Uart16550::queue_input(std::span<const uint8_t> bytes)
{
    const Batch batch(*this);
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
    refill_rx();
}

void Uart16550::push_rx(RxEntry entry)
{
    if (rx_.size() >= fifo_capacity()) {
        // 8.4 bit 1: without FIFOs the new character overwrites RBR; with
        // them it is lost (it stayed in the shift register) and the FIFO
        // keeps its contents.
        lsr_errors_ |= kLsrOverrun;
        if (fifo_enabled_)
            return;
        rx_.clear();
    }
    rx_.push_back(entry);
    if (entry.brk)
        fifo_error_ = true;
    if (rx_.size() == 1)
        reveal_head_errors();
    rx_activity();
}

// 8.4: a character's error bits show in LSR when it reaches the top of the
// FIFO (without FIFOs: when it reaches RBR).
void Uart16550::reveal_head_errors()
{
    if (!rx_.empty() && rx_.front().brk)
        lsr_errors_ |= kLsrBreak;
}

void Uart16550::refill_rx()
{
    while (!pending_.empty() && rx_.size() < fifo_capacity() && !loopback()) {
        push_rx({pending_.front(), false, true});
        pending_.pop_front();
    }
}

// Input the guest has not read goes back to the queue instead of being
// lost: drivers clear the FIFO while they start, and input typed or piped
// before that is not line noise. Loopback bytes and breaks are dropped.
void Uart16550::clear_rx()
{
    for (auto it = rx_.rbegin(); it != rx_.rend(); ++it)
        if (it->input)
            pending_.push_front(it->byte);
    rx_.clear();
    timeout_pending_ = false;
    fifo_error_ = false;
    refill_rx();
}

std::size_t Uart16550::rx_trigger() const
{
    static constexpr std::size_t kLevels[4] = {1, 4, 8, 14};
    return kLevels[(fcr_ & kFcrTriggerMask) >> 6];
}

// ---- character timeout (8.6) ----

uint64_t Uart16550::char_time_ns() const
{
    const uint64_t divisor = std::max<uint64_t>(1, uint64_t{dlm_} << 8 | dll_);
    const uint64_t bits = 1 /* start */ + 5 + (lcr_ & kLcrWordLength) + ((lcr_ & kLcrParity) ? 1 : 0) +
                          ((lcr_ & kLcrStopBits) ? 2 : 1);
    return bits * 1'000'000'000ull * divisor / kBaseBaud;
}

// Four character times, and at least 100 us so that a fast baud rate does
// not turn the timer into a storm of host wake-ups.
uint64_t Uart16550::timeout_ns() const { return std::max<uint64_t>(100'000, 4 * char_time_ns()); }

void Uart16550::rx_activity()
{
    if (port_.now_ns)
        last_rx_activity_ns_ = port_.now_ns();
    arm_timeout();
}

void Uart16550::arm_timeout()
{
    if (!fifo_enabled_ || rx_.empty() || timer_armed_ || !port_.arm_timer)
        return;
    timer_armed_ = true;
    port_.arm_timer(timeout_ns());
}

void Uart16550::timeout_expired()
{
    const Batch batch(*this);
    timer_armed_ = false;
    check_timeout();
    if (!timeout_pending_ && fifo_enabled_ && !rx_.empty() && port_.arm_timer && port_.now_ns) {
        // Something moved since the timer was set: wait for the rest.
        const uint64_t elapsed = port_.now_ns() - last_rx_activity_ns_;
        timer_armed_ = true;
        port_.arm_timer(timeout_ns() - std::min(elapsed, timeout_ns() - 1));
    }
}

// Also called on IIR and LSR reads, so a guest polling them sees the
// timeout even where no timer runs.
void Uart16550::check_timeout()
{
    if (!fifo_enabled_ || rx_.empty() || timeout_pending_ || !port_.now_ns)
        return;
    if (port_.now_ns() - last_rx_activity_ns_ >= timeout_ns())
        timeout_pending_ = true;
}

} // namespace uart
