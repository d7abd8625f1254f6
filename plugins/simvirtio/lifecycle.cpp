// lifecycle.cpp - simvirtio::Device from construction to READY and back:
// the device status the guest reads, the driver status register, the 'R'
// and 'C' command bytes, reset, and the entry 'C' makes in the guest's
// device table.
//
// The phases follow README.md, "The handshake": power-on (idle), 'R'
// (reset_seen), 'C' with DRIVER_ACK (config), DRIVER_OK (ready). A step out
// of order ends in DEVICE_ERROR (errors.cpp), which only a reset leaves.
// The device table is mapped and checked when 'C' arrives and only the
// checked range is touched (simvirtio_core.hpp, "Safety").
#include "log_text.hpp"
#include "simvirtio_core.hpp"

#include <algorithm>
#include <cstring>

namespace simvirtio {
namespace {

std::string describe_byte(uint8_t byte)
{
    if (byte >= 0x20 && byte < 0x7f)
        return format("0x%02x ('%c')", byte, byte);
    return format("0x%02x", byte);
}

} // namespace

Device::Device(Config config, GuestRam &ram, OutputSink &out, Log &log)
    : config_(std::move(config)), ram_(ram), out_(out), log_(log)
{
    config_.max_queue_length = std::clamp<uint32_t>(config_.max_queue_length, 2, 0xffff);
    scratch_.resize(config_.max_queue_length);
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

// ---- the driver status register ------------------------------------------------

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
        } else if (driver_status_ != kDriverAck && driver_status_ != kDriver) {
            fail(Error::out_of_order,
                 format("'C' with driver status 0x%02x (needs DRIVER_ACK or DRIVER)", driver_status_));
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
    tx_backlogged_ = false;
    rx_msg_end_ = queues_[kRx].head; // RX is empty now: no message ends beyond it
    rx_msg_count_ = 0;
    phase_ = from_r ? Phase::reset_seen : Phase::idle;
    if (!from_r)
        driver_status_ = kDriverAck;
}

// 'C': publish our address in the guest's device table, then DEVICE_CONFIG.
void Device::configure()
{
    if (!config_.device_table && !table_written_) {
        fail(Error::bad_address, "no device table: the machine file sets none and the driver wrote no address to "
                                 "DEVICE_TABLE (0x28) before 'C'");
        return;
    }
    const uint64_t table_address = config_.device_table ? *config_.device_table : table_register_;
    if (table_address % 8 != 0) {
        fail(Error::bad_address, format("device table 0x%llx is not 8-byte aligned",
                                        static_cast<unsigned long long>(table_address)));
        return;
    }
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

} // namespace simvirtio
