// config_space.cpp - simvirtio::Device's config space: the register table,
// guest reads and writes of 1..8 bytes at any offset, and the registers
// that only latch a value (the queue selector and the selected queue's
// configuration).
//
// An access may cover several registers, part of one, or reserved bytes, so
// it is mapped onto whole registers here, once, and each writable register
// gets its merged new value through write_register. Registers with effects
// are handled with their concept: the driver status in lifecycle.cpp, the
// queue controls and indices in queues.cpp. Guest values are checked before
// use (simvirtio_core.hpp, "Safety").
#include "log_text.hpp"
#include "simvirtio_core.hpp"

#include <algorithm>

namespace simvirtio {

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

// ---- registers that latch a value -------------------------------------------------

void Device::write_queue_selector(uint64_t value)
{
    if (value > 1) {
        fail(Error::bad_selector, format("queue selector %llu (0 = TX, 1 = RX)", static_cast<unsigned long long>(value)));
        return;
    }
    selector_ = static_cast<uint8_t>(value);
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

} // namespace simvirtio
