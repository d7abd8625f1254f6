// queues.cpp - simvirtio::Device's two byte rings: enabling a queue, the
// index registers (exit mode) or control blocks in guest RAM (poll mode),
// the poll pass, and moving bytes from TX and into RX.
//
// The load_/publish_ helpers hide where an index lives, so the data paths
// (service_tx, service_rx) are the same in both notify modes. TX bytes are
// commands until the device is READY (command() in lifecycle.cpp takes
// them) and data after. A queue's buffer and control block are checked and
// mapped once, when it is enabled; every access stays inside them
// (simvirtio_core.hpp, "Safety").
#include "log_text.hpp"
#include "simvirtio_core.hpp"

#include <algorithm>
#include <cstring>

namespace simvirtio {

// ---- enabling a queue, and the index registers (exit mode) -------------------------

void Device::write_queue_control(int q, uint8_t value)
{
    Queue &queue = queues_[q];
    const bool enable = (value & kQueueEnable) != 0;
    if (enable && !queue.enabled) {
        enable_queue(q);
    } else if (!enable && queue.enabled) {
        queue.enabled = false;
        debug(format("queue %s disabled", queue_name(q)));
    }
}

void Device::enable_queue(int q)
{
    Queue &queue = queues_[q];
    // Copies: validation and use see the same values.
    const uint32_t length = queue.length_reg;
    const uint64_t address = queue.address;
    const uint64_t control_address = queue.control_address;
    if (length < 2 || length > config_.max_queue_length) {
        fail(Error::bad_length, format("queue %s length %u (must be 2..%u)", queue_name(q), length,
                                       config_.max_queue_length));
        return;
    }
    uint8_t *buffer = address + length < address ? nullptr : ram_.map(address, length);
    if (buffer == nullptr) {
        fail(Error::bad_address, format("queue %s buffer 0x%llx..+0x%x is not wholly inside guest RAM", queue_name(q),
                                        static_cast<unsigned long long>(address), length));
        return;
    }
    uint32_t *control = nullptr;
    if (ram_indices()) {
        if (control_address % 4 != 0) {
            fail(Error::bad_address, format("queue %s control block 0x%llx is not 4-byte aligned", queue_name(q),
                                            static_cast<unsigned long long>(control_address)));
            return;
        }
        uint8_t *mapped = control_address + 8 < control_address ? nullptr : ram_.map(control_address, 8);
        if (mapped == nullptr || reinterpret_cast<uintptr_t>(mapped) % alignof(uint32_t) != 0) {
            fail(Error::bad_address, format("queue %s control block 0x%llx..+8 is not wholly inside guest RAM",
                                            queue_name(q), static_cast<unsigned long long>(control_address)));
            return;
        }
        control = reinterpret_cast<uint32_t *>(mapped);
    }
    queue.length = length;
    queue.buffer = buffer;
    queue.control = control;
    queue.head = 0;
    queue.tail = 0;
    if (control != nullptr) {
        __atomic_store_n(&control[0], 0u, __ATOMIC_RELEASE);
        __atomic_store_n(&control[1], 0u, __ATOMIC_RELEASE);
    }
    queue.enabled = true;
    debug(format("queue %s enabled: buffer 0x%llx, length %u%s", queue_name(q),
                 static_cast<unsigned long long>(address), length,
                 ram_indices() ? format(", control block 0x%llx", static_cast<unsigned long long>(control_address)).c_str()
                              : ""));
    // RX (re-)enabled while READY: what is left of the greeting goes out
    // now, as after a tail write (the tail is the 0 just set), so that an
    // exit-mode driver waiting for a byte does not wait forever.
    if (q == kRx)
        service_rx(0);
}

void Device::write_tx_head(uint32_t value)
{
    const Queue &tx = queues_[kTx];
    if (!tx.enabled) {
        fail(Error::out_of_order, "TX head written while TX is disabled");
        return;
    }
    if (value >= tx.length) {
        fail(Error::bad_index, format("TX head %u >= queue length %u", value, tx.length));
        return;
    }
    queues_[kTx].head = value;
    service_tx(value);
}

void Device::write_rx_tail(uint32_t value)
{
    const Queue &rx = queues_[kRx];
    if (!rx.enabled) {
        fail(Error::out_of_order, "RX tail written while RX is disabled");
        return;
    }
    if (value >= rx.length) {
        fail(Error::bad_index, format("RX tail %u >= queue length %u", value, rx.length));
        return;
    }
    queues_[kRx].tail = value;
    service_rx(value);
}

// ---- indices: registers (exit mode) or guest RAM (poll mode) --------------------

uint32_t Device::load_tx_head() const noexcept
{
    const Queue &tx = queues_[kTx];
    return ram_indices() ? __atomic_load_n(&tx.control[0], __ATOMIC_ACQUIRE) : tx.head;
}

uint32_t Device::load_rx_tail() const noexcept
{
    const Queue &rx = queues_[kRx];
    return ram_indices() ? __atomic_load_n(&rx.control[1], __ATOMIC_ACQUIRE) : rx.tail;
}

void Device::publish_tx_tail(uint32_t tail) noexcept
{
    Queue &tx = queues_[kTx];
    tx.tail = tail;
    if (ram_indices())
        __atomic_store_n(&tx.control[1], tail, __ATOMIC_RELEASE);
}

void Device::publish_rx_head(uint32_t head) noexcept
{
    Queue &rx = queues_[kRx];
    rx.head = head;
    if (ram_indices())
        __atomic_store_n(&rx.control[0], head, __ATOMIC_RELEASE);
}

// ---- data paths ------------------------------------------------------------------

bool Device::poll()
{
    if (!ram_indices())
        return false;
    // Each index is read once per pass, and only that copy is checked and
    // used.
    bool moved = false;
    const Queue &tx = queues_[kTx];
    if (tx.enabled) {
        const uint32_t head = load_tx_head();
        if (head >= tx.length) {
            if (phase_ != Phase::error)
                fail(Error::bad_index, format("TX head %u >= queue length %u", head, tx.length));
        } else if (head != tx.tail) {
            const uint32_t before = tx.tail;
            if (service_tx(head))
                return true; // 'R': the reset read the RX tail; RX waits for the next pass
            moved = tx.tail != before; // not when the output had no room
        }
    }
    const Queue &rx = queues_[kRx];
    if (rx.enabled && phase_ != Phase::error) {
        const uint32_t tail = load_rx_tail();
        if (tail >= rx.length)
            fail(Error::bad_index, format("RX tail %u >= queue length %u", tail, rx.length));
        else
            moved = service_rx(tail) || moved;
    }
    return moved;
}

// Consume TX bytes [tail, head); `head` is validated (< length). True when
// an 'R' among them reset the device.
bool Device::service_tx(uint32_t head)
{
    const Queue &tx = queues_[kTx];
    const uint32_t length = tx.length;
    uint32_t tail = tx.tail;
    if (head == tail)
        return false;
    if (phase_ == Phase::ready) {
        // Data: one copy out of guest RAM, one write, then the tail moves, so
        // a driver that sees tail == head knows its bytes reached the sink.
        // No more than the sink takes now: the rest stays on TX, for the
        // next pass, doorbell or tail read (tx_backlogged_).
        const uint32_t count = (head + length - tail) % length;
        const uint32_t first = std::min(count, length - tail);
        std::memcpy(scratch_.data(), tx.buffer + tail, first);
        std::memcpy(scratch_.data() + first, tx.buffer, count - first);
        const auto taken = static_cast<uint32_t>(
            std::min<std::size_t>(out_.write(std::span<const uint8_t>(scratch_.data(), count)), count));
        tx_backlogged_ = taken < count;
        publish_tx_tail((tail + taken) % length);
        return false;
    }
    // Commands, one byte at a time; the tail moves past a byte once the
    // device has acted on it.
    while (tail != head) {
        const uint8_t byte = __atomic_load_n(&tx.buffer[tail], __ATOMIC_RELAXED);
        tail = tail + 1 == length ? 0 : tail + 1;
        if (command(byte, head))
            return true; // a reset emptied the queue: tail := head
        publish_tx_tail(tail);
    }
    return false;
}

// Read the RX tail once, check it, and fill RX from it.
bool Device::fill_rx()
{
    const Queue &rx = queues_[kRx];
    if (!rx.enabled || phase_ != Phase::ready || pending_pos_ >= pending_.size())
        return false;
    const uint32_t tail = load_rx_tail();
    if (tail >= rx.length) {
        fail(Error::bad_index, format("RX tail %u >= queue length %u", tail, rx.length));
        return false;
    }
    return service_rx(tail);
}

// Move pending greeting bytes into RX as far as there is room; `tail` is
// the RX tail as the caller read and checked it (< length).
bool Device::service_rx(uint32_t tail)
{
    const Queue &rx = queues_[kRx];
    if (!rx.enabled || phase_ != Phase::ready || pending_pos_ >= pending_.size())
        return false;
    const uint32_t length = rx.length;
    const uint32_t head = rx.head;
    const uint32_t room = (tail + length - head - 1) % length;
    const uint32_t count = static_cast<uint32_t>(std::min<std::size_t>(room, pending_.size() - pending_pos_));
    if (count == 0)
        return false;
    const uint32_t first = std::min(count, length - head);
    std::memcpy(rx.buffer + head, pending_.data() + pending_pos_, first);
    std::memcpy(rx.buffer, pending_.data() + pending_pos_ + first, count - first);
    pending_pos_ += count;
    const uint32_t new_head = (head + count) % length;
    publish_rx_head(new_head);
    ++rx_fills_;
    if (pending_pos_ == pending_.size()) {
        // The message's last byte is on RX (README, "End of an RX message").
        rx_msg_end_ = new_head;
        ++rx_msg_count_;
    }
    return true;
}

// ---- after a reset ------------------------------------------------------------------

// TX tail := head and RX head := tail; an index the guest left out of range
// (poll mode) cannot be kept, so both indices of that queue become 0. An
// 'R' passes the TX head its batch was read up to: that head is not read
// again, so the bytes the reset discards are exactly the rest of that batch.
void Device::reset_queues(std::optional<uint32_t> tx_head)
{
    Queue &tx = queues_[kTx];
    if (tx.enabled) {
        const uint32_t head = tx_head ? *tx_head : load_tx_head();
        if (head < tx.length) {
            publish_tx_tail(head);
        } else {
            if (tx.control != nullptr) // only in poll mode can the head be out of range
                __atomic_store_n(&tx.control[0], 0u, __ATOMIC_RELEASE);
            publish_tx_tail(0);
        }
    }
    Queue &rx = queues_[kRx];
    if (rx.enabled) {
        const uint32_t tail = load_rx_tail();
        if (tail < rx.length) {
            publish_rx_head(tail);
        } else {
            if (rx.control != nullptr)
                __atomic_store_n(&rx.control[1], 0u, __ATOMIC_RELEASE);
            publish_rx_head(0);
        }
    }
}

} // namespace simvirtio
