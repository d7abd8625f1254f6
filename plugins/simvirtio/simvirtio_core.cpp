// simvirtio_core.cpp - the SIMVIRTIO protocol; see simvirtio_core.hpp and README.md.
//
// The guest is untrusted. Every index, length and address it gives is read
// once into a local, validated against the queue and guest RAM, and only
// the validated copy is used. Guest RAM is reached only through pointers
// GuestRam::map returned for ranges checked at the time (a queue's buffer
// and control block when it is enabled, the device table when 'C' arrives),
// and every access through them stays inside those ranges.
#include "simvirtio_core.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace simvirtio {
namespace {

__attribute__((format(printf, 1, 2))) std::string format(const char *fmt, ...)
{
    char buffer[256];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buffer, sizeof buffer, fmt, args);
    va_end(args);
    return buffer;
}

const char *queue_name(int q) { return q == 0 ? "TX (Q0)" : "RX (Q1)"; }

std::string describe_byte(uint8_t byte)
{
    if (byte >= 0x20 && byte < 0x7f)
        return format("0x%02x ('%c')", byte, byte);
    return format("0x%02x", byte);
}

} // namespace

const char *error_name(Error error) noexcept
{
    switch (error) {
    case Error::none: return "NONE";
    case Error::out_of_order: return "OUT_OF_ORDER";
    case Error::bad_selector: return "BAD_SELECTOR";
    case Error::bad_length: return "BAD_LENGTH";
    case Error::bad_address: return "BAD_ADDRESS";
    case Error::bad_index: return "BAD_INDEX";
    case Error::table: return "TABLE";
    case Error::bad_driver_status: return "BAD_DRIVER_STATUS";
    }
    return "?";
}

const std::array<Device::RegisterInfo, 16> Device::kRegisters = {{
    {reg::kMagic, 4, "MAGIC", false},
    {reg::kMaxQueueLen, 2, "MAX_QUEUE_LEN", false},
    {reg::kDeviceStatus, 1, "DEVICE_STATUS", false},
    {reg::kDriverStatus, 1, "DRIVER_STATUS", true},
    {reg::kQueueSel, 1, "QUEUE_SEL", true},
    {reg::kQ0Ctl, 1, "Q0_CTL", true},
    {reg::kQ1Ctl, 1, "Q1_CTL", true},
    {reg::kNotifyMode, 1, "NOTIFY_MODE", false},
    {reg::kError, 1, "ERROR", false},
    {reg::kQueueAddr, 8, "QUEUE_ADDR", true},
    {reg::kQueueLen, 4, "QUEUE_LEN", true},
    {reg::kQueueCb, 8, "QUEUE_CB", true},
    {reg::kQ0Head, 4, "Q0_HEAD", true},
    {reg::kQ0Tail, 4, "Q0_TAIL", false},
    {reg::kQ1Head, 4, "Q1_HEAD", false},
    {reg::kQ1Tail, 4, "Q1_TAIL", true},
}};

Device::Device(Config config, GuestRam &ram, OutputSink &out, Log &log)
    : config_(std::move(config)), ram_(ram), out_(out), log_(log)
{
    config_.max_queue_length = std::clamp<uint32_t>(config_.max_queue_length, 2, 0xffff);
    scratch_.resize(config_.max_queue_length);
}

Device::~Device()
{
    if (errors_ > kWarnedErrors)
        log_.log(LogLevel::info, format("DEVICE_ERROR entered %llu times in all (%llu of them logged at debug level only)",
                                        static_cast<unsigned long long>(errors_),
                                        static_cast<unsigned long long>(errors_ - kWarnedErrors)));
}

uint8_t Device::device_status() const noexcept
{
    switch (phase_) {
    case Phase::idle:
    case Phase::reset_seen: return kDeviceReset;
    case Phase::config: return kDeviceConfig;
    case Phase::ready: return kDeviceReady;
    case Phase::error: return kDeviceError;
    }
    return kDeviceError;
}

// ---- the config space: byte-addressed registers ----------------------------

bool Device::present(const RegisterInfo &r) const noexcept
{
    // The index registers exist only in exit mode; in poll mode the control
    // blocks live in guest RAM and 0x40..0x4f are reserved.
    return !(config_.poll && r.offset >= reg::kQ0Head);
}

uint64_t Device::register_value(const RegisterInfo &r) const noexcept
{
    const Queue &selected = queues_[selector_];
    switch (r.offset) {
    case reg::kMagic: return kMagic;
    case reg::kMaxQueueLen: return config_.max_queue_length;
    case reg::kDeviceStatus: return device_status();
    case reg::kDriverStatus: return driver_status_;
    case reg::kQueueSel: return selector_;
    case reg::kQ0Ctl: return queues_[kTx].enabled ? kQueueEnable : 0;
    case reg::kQ1Ctl: return queues_[kRx].enabled ? kQueueEnable : 0;
    case reg::kNotifyMode: return config_.poll ? kNotifyPoll : kNotifyExit;
    case reg::kError: return static_cast<uint8_t>(error_);
    case reg::kQueueAddr: return selected.address;
    case reg::kQueueLen: return selected.length_reg;
    case reg::kQueueCb: return selected.control_address;
    case reg::kQ0Head: return queues_[kTx].head;
    case reg::kQ0Tail: return queues_[kTx].tail;
    case reg::kQ1Head: return queues_[kRx].head;
    case reg::kQ1Tail: return queues_[kRx].tail;
    default: return 0;
    }
}

void Device::read(uint64_t offset, std::span<uint8_t> data)
{
    std::fill(data.begin(), data.end(), uint8_t{0});
    if (offset >= reg::kSpaceSize)
        return; // also keeps offset + size from wrapping
    const uint64_t end = offset + data.size();
    for (const RegisterInfo &r : kRegisters) {
        if (!present(r) || r.offset + r.size <= offset || r.offset >= end)
            continue;
        const uint64_t value = register_value(r);
        for (uint64_t a = std::max(offset, r.offset); a < std::min(end, r.offset + r.size); ++a)
            data[a - offset] = static_cast<uint8_t>(value >> (8 * (a - r.offset)));
    }
}

void Device::write(uint64_t offset, std::span<const uint8_t> data)
{
    if (data.size() > 8) { // not from a CPU; split like a string of accesses
        for (std::size_t i = 0; i < data.size(); i += 8)
            write(offset + i, data.subspan(i, std::min<std::size_t>(8, data.size() - i)));
        return;
    }
    if (offset >= reg::kSpaceSize) {
        const std::array<bool, 8> none{};
        note_ignored_bytes(offset, data.size(), none);
        return;
    }
    const uint64_t end = offset + data.size();
    std::array<bool, 8> covered{};
    for (std::size_t i = 0; i < kRegisters.size(); ++i) {
        const RegisterInfo &r = kRegisters[i];
        if (!present(r) || r.offset + r.size <= offset || r.offset >= end)
            continue;
        // Merge the written bytes into the register's current value, so a
        // narrower access changes only the bytes it covers.
        const uint64_t old_value = register_value(r);
        uint64_t value = old_value;
        for (uint64_t a = std::max(offset, r.offset); a < std::min(end, r.offset + r.size); ++a) {
            const uint64_t shift = 8 * (a - r.offset);
            value = (value & ~(uint64_t{0xff} << shift)) | (uint64_t{data[a - offset]} << shift);
            if (a - offset < covered.size())
                covered[a - offset] = true;
        }
        if (r.writable) {
            write_register(r, value);
        } else if (value != old_value && !read_only_logged_[i]) {
            read_only_logged_[i] = true;
            log_.log(LogLevel::warn, format("ignored a write to the read-only register %s at 0x%02llx (logged once)",
                                            r.name, static_cast<unsigned long long>(r.offset)));
        }
    }
    note_ignored_bytes(offset, data.size(), covered);
}

// One line per access that wrote reserved bytes not reported before.
void Device::note_ignored_bytes(uint64_t offset, std::size_t size, const std::array<bool, 8> &covered)
{
    uint64_t first = 0, last = 0;
    std::size_t count = 0;
    bool news = false;
    for (std::size_t i = 0; i < size && i < covered.size(); ++i) {
        if (covered[i])
            continue;
        const uint64_t at = offset + i;
        if (count++ == 0)
            first = at;
        last = at;
        if (at < reg::kSpaceSize) {
            news = news || !ignored_logged_[at];
            ignored_logged_[at] = true;
        } else {
            news = news || !beyond_logged_;
            beyond_logged_ = true;
        }
    }
    if (count == 0 || !news)
        return;
    log_.log(LogLevel::warn,
             format("ignored %zu byte(s) written at reserved offset(s) 0x%02llx..0x%02llx (logged once per offset; "
                    "once for all offsets from 0x100)",
                    count, static_cast<unsigned long long>(first), static_cast<unsigned long long>(last)));
}

void Device::write_register(const RegisterInfo &r, uint64_t value)
{
    switch (r.offset) {
    case reg::kDriverStatus: write_driver_status(static_cast<uint8_t>(value)); break;
    case reg::kQueueSel: write_queue_selector(value); break;
    case reg::kQ0Ctl: write_queue_control(kTx, static_cast<uint8_t>(value)); break;
    case reg::kQ1Ctl: write_queue_control(kRx, static_cast<uint8_t>(value)); break;
    case reg::kQueueAddr:
    case reg::kQueueLen:
    case reg::kQueueCb: write_queue_config(r.offset, value); break;
    case reg::kQ0Head: write_tx_head(static_cast<uint32_t>(value)); break;
    case reg::kQ1Tail: write_rx_tail(static_cast<uint32_t>(value)); break;
    default: break;
    }
}

// ---- registers with effects ---------------------------------------------------

void Device::write_driver_status(uint8_t value)
{
    if ((value & kDriverReset) != 0) {
        debug("reset requested through the driver status register");
        reset(false);
        return;
    }
    if (phase_ == Phase::error) {
        debug(format("driver status 0x%02x ignored in DEVICE_ERROR (only a reset recovers)", value));
        return;
    }
    if (value != kDriverAck && value != kDriver && value != kDriverOk) {
        fail(Error::bad_driver_status,
             format("invalid driver status 0x%02x (valid: 0 DRIVER_ACK, 2 DRIVER, 4 DRIVER_OK, bit 7 RESET)", value));
        return;
    }
    if (phase_ == Phase::ready) {
        if (value != kDriverOk)
            fail(Error::out_of_order,
                 format("driver status 0x%02x while DEVICE_READY (a ready device is reset through bit 7)", value));
        return;
    }
    if (value == kDriverOk) {
        if (phase_ != Phase::config) {
            fail(Error::out_of_order, "DRIVER_OK before DEVICE_CONFIG");
            return;
        }
        driver_status_ = value;
        phase_ = Phase::ready;
        pending_ = config_.greeting;
        pending_pos_ = 0;
        debug("DRIVER_OK: device ready");
        fill_rx();
        return;
    }
    driver_status_ = value;
}

void Device::write_queue_selector(uint64_t value)
{
    if (value > 1) {
        fail(Error::bad_selector, format("queue selector %llu (0 = TX, 1 = RX)", static_cast<unsigned long long>(value)));
        return;
    }
    selector_ = static_cast<uint8_t>(value);
}

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

void Device::write_queue_config(uint64_t offset, uint64_t value)
{
    Queue &queue = queues_[selector_];
    const char *field = offset == reg::kQueueAddr ? "buffer address" : offset == reg::kQueueLen ? "length" : "control-block address";
    if (queue.enabled) {
        fail(Error::out_of_order, format("queue %s %s written while the queue is enabled", queue_name(selector_), field));
        return;
    }
    if (offset == reg::kQueueAddr)
        queue.address = value;
    else if (offset == reg::kQueueLen)
        queue.length_reg = static_cast<uint32_t>(value);
    else
        queue.control_address = value;
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
    if (config_.poll) {
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
                 config_.poll ? format(", control block 0x%llx", static_cast<unsigned long long>(control_address)).c_str()
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
    return config_.poll ? __atomic_load_n(&tx.control[0], __ATOMIC_ACQUIRE) : tx.head;
}

uint32_t Device::load_rx_tail() const noexcept
{
    const Queue &rx = queues_[kRx];
    return config_.poll ? __atomic_load_n(&rx.control[1], __ATOMIC_ACQUIRE) : rx.tail;
}

void Device::publish_tx_tail(uint32_t tail) noexcept
{
    Queue &tx = queues_[kTx];
    tx.tail = tail;
    if (config_.poll)
        __atomic_store_n(&tx.control[1], tail, __ATOMIC_RELEASE);
}

void Device::publish_rx_head(uint32_t head) noexcept
{
    Queue &rx = queues_[kRx];
    rx.head = head;
    if (config_.poll)
        __atomic_store_n(&rx.control[0], head, __ATOMIC_RELEASE);
}

// ---- data paths ------------------------------------------------------------------

bool Device::poll()
{
    if (!config_.poll)
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
            moved = true;
            if (service_tx(head))
                return true; // 'R': the reset read the RX tail; RX waits for the next pass
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
        const uint32_t count = (head + length - tail) % length;
        const uint32_t first = std::min(count, length - tail);
        std::memcpy(scratch_.data(), tx.buffer + tail, first);
        std::memcpy(scratch_.data() + first, tx.buffer, count - first);
        out_.write(std::span<const uint8_t>(scratch_.data(), count));
        publish_tx_tail(head);
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
    publish_rx_head((head + count) % length);
    return true;
}

// ---- the handshake -----------------------------------------------------------------

bool Device::command(uint8_t byte, uint32_t head)
{
    if (byte == 'R') {
        debug("'R': device reset");
        reset(true, head);
        return true;
    }
    switch (phase_) {
    case Phase::error:
        debug(format("byte %s discarded in DEVICE_ERROR (only 'R' or a reset recovers)", describe_byte(byte).c_str()));
        return false;
    case Phase::idle:
        fail(Error::out_of_order, byte == 'C' ? std::string("'C' before 'R'")
                                              : format("byte %s before 'R' (only 'R' and 'C' are commands "
                                                       "before DRIVER_OK)",
                                                       describe_byte(byte).c_str()));
        return false;
    case Phase::reset_seen:
        if (byte != 'C') {
            fail(Error::out_of_order, format("byte %s before DRIVER_OK (only 'R' and 'C' are commands)",
                                             describe_byte(byte).c_str()));
        } else if (driver_status_ != kDriverAck) {
            fail(Error::out_of_order, format("'C' with driver status 0x%02x (needs DRIVER_ACK)", driver_status_));
        } else {
            configure();
        }
        return false;
    case Phase::config:
        fail(Error::out_of_order, byte == 'C' ? std::string("'C' in DEVICE_CONFIG (already configured)")
                                              : format("byte %s before DRIVER_OK (only 'R' and 'C' are commands)",
                                                       describe_byte(byte).c_str()));
        return false;
    case Phase::ready: break; // not reached: READY bytes are data
    }
    return false;
}

void Device::reset(bool from_r, std::optional<uint32_t> tx_head)
{
    reset_queues(tx_head);
    error_ = Error::none;
    pending_.clear();
    pending_pos_ = 0;
    phase_ = from_r ? Phase::reset_seen : Phase::idle;
    if (!from_r)
        driver_status_ = kDriverAck;
}

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

// 'C': publish our address in the guest's device table, then DEVICE_CONFIG.
void Device::configure()
{
    const uint64_t table_address = config_.device_table;
    uint8_t *table = table_address + kTableSize < table_address ? nullptr : ram_.map(table_address, kTableSize);
    if (table == nullptr) {
        fail(Error::bad_address, format("device table 0x%llx..+0x%llx is not wholly inside guest RAM",
                                        static_cast<unsigned long long>(table_address),
                                        static_cast<unsigned long long>(kTableSize)));
        return;
    }
    uint16_t count = 0;
    std::memcpy(&count, table, sizeof count);
    if (count > kMaxDevices) {
        fail(Error::table, format("device table corrupt: count %u > %u", count, kMaxDevices));
        return;
    }
    bool listed = false;
    for (uint32_t i = 0; i < count && !listed; ++i) {
        uint64_t address = 0;
        std::memcpy(&address, table + 8 + 8 * i, sizeof address);
        listed = address == config_.own_address;
    }
    if (!listed) {
        if (count == kMaxDevices) {
            fail(Error::table, format("device table full (%u devices)", kMaxDevices));
            return;
        }
        std::memcpy(table + 8 + 8 * count, &config_.own_address, sizeof config_.own_address);
        const uint16_t new_count = static_cast<uint16_t>(count + 1);
        // The entry before the count that makes it visible.
        __atomic_thread_fence(__ATOMIC_RELEASE);
        std::memcpy(table, &new_count, sizeof new_count);
        debug(format("'C': added 0x%llx to the device table as entry %u", static_cast<unsigned long long>(config_.own_address),
                     count));
    } else {
        debug("'C': already in the device table");
    }
    phase_ = Phase::config;
}

void Device::fail(Error error, const std::string &reason)
{
    if (phase_ == Phase::error) {
        debug(format("already in DEVICE_ERROR (%s), also: %s", error_name(error_), reason.c_str()));
        return;
    }
    phase_ = Phase::error;
    error_ = error;
    pending_.clear();
    pending_pos_ = 0;
    // A reset leaves DEVICE_ERROR, so a guest can enter it again and again
    // (a reset request and a bad driver status: two exits). The first
    // kWarnedErrors are warnings; after that each is a debug line, and only
    // the count is a warning, at every power of two: the log grows with the
    // logarithm of what the guest does.
    static_assert((kWarnedErrors & (kWarnedErrors - 1)) == 0, "the counts logged are its multiples by 2, 4, ...");
    ++errors_;
    const std::string line = format("DEVICE_ERROR %s: %s", error_name(error), reason.c_str());
    if (errors_ <= kWarnedErrors) {
        warn(line);
        return;
    }
    debug(line);
    const auto count = static_cast<unsigned long long>(errors_);
    if (errors_ == kWarnedErrors + 1)
        warn(format("DEVICE_ERROR entered %llu times: from now on each is logged at debug level only; their count is "
                    "logged at %llu, %llu, ... times and when the device goes away",
                    count, static_cast<unsigned long long>(2 * kWarnedErrors),
                    static_cast<unsigned long long>(4 * kWarnedErrors)));
    else if ((errors_ & (errors_ - 1)) == 0)
        warn(format("DEVICE_ERROR entered %llu times (%llu of them logged at debug level only)", count,
                    static_cast<unsigned long long>(errors_ - kWarnedErrors)));
}

} // namespace simvirtio
