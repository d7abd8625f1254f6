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
namespace {
// RegisterInfo.modes: bit n set = the register exists in notify mode n.
constexpr uint8_t kAllModes = 1u << kNotifyExit | 1u << kNotifyPoll | 1u << kNotifyDoorbell;
constexpr uint8_t kExitOnly = 1u << kNotifyExit;
constexpr uint8_t kDoorbellOnly = 1u << kNotifyDoorbell;
} // namespace

const std::array<Device::RegisterInfo, 22> Device::kRegisters = {{
    {reg::kMagic, 4, "MAGIC", false, kAllModes},
    {reg::kMaxQueueLen, 2, "MAX_QUEUE_LEN", false, kAllModes},
    {reg::kDeviceStatus, 1, "DEVICE_STATUS", false, kAllModes},
    {reg::kDriverStatus, 1, "DRIVER_STATUS", true, kAllModes},
    {reg::kQueueSel, 1, "QUEUE_SEL", true, kAllModes},
    {reg::kQ0Ctl, 1, "Q0_CTL", true, kAllModes},
    {reg::kQ1Ctl, 1, "Q1_CTL", true, kAllModes},
    {reg::kNotifyMode, 1, "NOTIFY_MODE", false, kAllModes},
    {reg::kError, 1, "ERROR", false, kAllModes},
    {reg::kVersion, 1, "VERSION", false, kAllModes},
    {reg::kQueueAddr, 8, "QUEUE_ADDR", true, kAllModes},
    {reg::kQueueLen, 4, "QUEUE_LEN", true, kAllModes},
    {reg::kQueueCb, 8, "QUEUE_CB", true, kAllModes},
    {reg::kDeviceTable, 8, "DEVICE_TABLE", false, kAllModes}, // writable() decides
    {reg::kRxMsgEnd, 4, "RX_MSG_END", false, kAllModes},
    {reg::kRxMsgCount, 4, "RX_MSG_COUNT", false, kAllModes},
    {reg::kQ0Head, 4, "Q0_HEAD", true, kExitOnly},
    {reg::kTxNotify, 4, "TX_NOTIFY", true, kDoorbellOnly},
    {reg::kQ0Tail, 4, "Q0_TAIL", false, kExitOnly},
    {reg::kQ1Head, 4, "Q1_HEAD", false, kExitOnly},
    {reg::kQ1Tail, 4, "Q1_TAIL", true, kExitOnly},
    {reg::kRxNotify, 4, "RX_NOTIFY", true, kDoorbellOnly},
}};

bool Device::present(const RegisterInfo &r) const noexcept
{
    // The index registers exist only in exit mode; in poll mode the control
    // blocks live in guest RAM and 0x40..0x4f are reserved; in doorbell
    // mode 0x40 and 0x4c are the two doorbells (which read 0).
    return (r.modes & (1u << config_.notify)) != 0;
}

bool Device::writable(const RegisterInfo &r) const noexcept
{
    // The device table's address is the guest's to give only when the
    // machine file does not (README, "Discovery").
    if (r.offset == reg::kDeviceTable)
        return !config_.device_table.has_value();
    return r.writable;
}

uint64_t Device::register_value(const RegisterInfo &r) const noexcept
{
    const Queue &selected = queues_[selector_];
    if (r.modes == kDoorbellOnly)
        return 0; // the doorbells read 0
    switch (r.offset) {
    case reg::kMagic: return kMagic;
    case reg::kMaxQueueLen: return config_.max_queue_length;
    case reg::kDeviceStatus: return device_status();
    case reg::kDriverStatus: return driver_status_;
    case reg::kQueueSel: return selector_;
    case reg::kQ0Ctl: return queues_[kTx].enabled ? kQueueEnable : 0;
    case reg::kQ1Ctl: return queues_[kRx].enabled ? kQueueEnable : 0;
    case reg::kNotifyMode: return config_.notify;
    case reg::kError: return static_cast<uint8_t>(error_);
    case reg::kVersion: return kProtocolVersion;
    case reg::kDeviceTable:
        if (config_.device_table)
            return *config_.device_table;
        return table_written_ ? table_register_ : kTableUnset;
    case reg::kRxMsgEnd: return rx_msg_end_;
    case reg::kRxMsgCount: return rx_msg_count_;
    case reg::kQueueAddr: return selected.address;
    case reg::kQueueLen: return selected.length_reg;
    case reg::kQueueCb: return selected.control_address;
    case reg::kQ0Head: return queues_[kTx].head;
    case reg::kQ0Tail:
        // A batch the output had no room for is retried when the driver
        // looks (it waits for tail == head), since no other exit will come.
        if (tx_backlogged_ && queues_[kTx].enabled)
            const_cast<Device *>(this)->service_tx(queues_[kTx].head);
        return queues_[kTx].tail;
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
    // The assignment's DRIVER_RESET is 0x8000 in a u16 at DRIVER_STATUS:
    // written faithfully it would set DRIVER_ACK and QUEUE_SEL = 0x80 (an
    // invalid selector). That exact write means nothing else, so it is
    // taken as the reset request it was meant to be (README, "Status values").
    if (offset == reg::kDriverStatus && data.size() == 2 && data[0] == 0x00 && data[1] == 0x80) {
        debug("the assignment's DRIVER_RESET (0x8000, a 16-bit write at DRIVER_STATUS): reset request");
        write_driver_status(kDriverReset);
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
        if (writable(r)) {
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
    case reg::kDeviceTable:
        table_register_ = value;
        table_written_ = true;
        break;
    case reg::kQ0Head: // = kTxNotify
    case reg::kQ1Tail: // = kRxNotify
        if (config_.notify == kNotifyDoorbell) {
            // A doorbell that reached the device as an exit (a size KVM's
            // ioeventfd does not match, or no event loop): the same pass
            // the event loop runs.
            poll();
        } else if (r.offset == reg::kQ0Head) {
            write_tx_head(static_cast<uint32_t>(value));
        } else {
            write_rx_tail(static_cast<uint32_t>(value));
        }
        break;
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
