// An MC146818 real-time clock with its CMOS RAM, as the PC has it: ports
// 0x70 (index; bit 7 masks NMI) and 0x71 (data).
//
// Plain C++: the wall clock, the interrupt wire and a one-shot timer come
// through RtcPort, so unit tests drive it without a host.
//
// Time: the guest's time is the host clock plus an offset (as QEMU keeps
// it), so nothing ticks while the guest does not look: registers 0x00-0x09
// and the century (0x32) are computed from it on every read. While SET
// (register B bit 7) is held, the time registers hold what the guest
// writes; clearing SET turns them into a new offset.
//
// Flags: PF, AF and UF are brought up to date lazily, from the time that
// passed since the last look (sync()); the timer only wakes the device when
// an enabled flag would raise the line, and not at all while IRQF is
// already set (the line stays high until register C is read).
//
// Documentation: Motorola MC146818A datasheet.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace rtc {

constexpr const char *kStateFormat = "mc146818";
constexpr uint32_t kStateVersion = 1;
constexpr std::size_t kCmosSize = 128;

// Registers and bits (datasheet, "Register A" to "Register D").
namespace reg {
constexpr uint8_t kSeconds = 0x00, kSecondsAlarm = 0x01, kMinutes = 0x02, kMinutesAlarm = 0x03, kHours = 0x04,
                  kHoursAlarm = 0x05, kDayOfWeek = 0x06, kDayOfMonth = 0x07, kMonth = 0x08, kYear = 0x09, kA = 0x0a,
                  kB = 0x0b, kC = 0x0c, kD = 0x0d, kCentury = 0x32;
constexpr uint8_t kAUip = 0x80, kADivider = 0x70, kARate = 0x0f;
constexpr uint8_t kDividerNormal = 0x20; // DV2-0 = 010: a 32.768 kHz time base, running
constexpr uint8_t kBSet = 0x80, kBPie = 0x40, kBAie = 0x20, kBUie = 0x10, kBSqwe = 0x08, kBDm = 0x04,
                  kB24h = 0x02, kBDse = 0x01;
constexpr uint8_t kCIrqf = 0x80, kCPf = 0x40, kCAf = 0x20, kCUf = 0x10;
constexpr uint8_t kDVrt = 0x80;
constexpr uint8_t kHourPm = 0x80;       // in 12-hour mode
constexpr uint8_t kAlarmDontCare = 0xc0; // an alarm byte 0xc0-0xff matches any value
} // namespace reg

constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr uint64_t kUipNs = 244'000; // UIP is set this long before each update

struct RtcPort {
    // The IRQ output (IRQF) changed.
    std::function<void(bool level)> interrupt;
    // Nanoseconds since the epoch, UTC (CLOCK_REALTIME outside tests).
    std::function<int64_t()> now_ns;
    // Call timer_expired() in `delay_ns`, replacing any earlier request.
    std::function<void(uint64_t delay_ns)> arm_timer;
};

class Mc146818 {
public:
    explicit Mc146818(RtcPort port);

    // Port offsets: 0 the index, 1 the data.
    uint8_t read(uint64_t offset);
    void write(uint64_t offset, uint8_t value);

    // NVRAM as firmware left it (plugin creation, before the guest runs).
    void set_cmos(uint8_t index, uint8_t value) { cmos_[index & 0x7f] = value; }
    uint8_t cmos(uint8_t index) const { return cmos_[index & 0x7f]; }

    void timer_expired();
    bool interrupt_level() const { return (c_ & reg::kCIrqf) != 0; }
    bool nmi_masked() const { return (index_ & 0x80) != 0; }
    // The guest's time minus the host's, in nanoseconds.
    int64_t offset_ns() const { return offset_ns_; }
    // Tell the port the level and arm the timer (a new instance after a swap).
    void resync();

    std::vector<uint8_t> save() const;
    void load(std::span<const uint8_t> blob);

private:
    uint8_t read_register(uint8_t index);
    void write_register(uint8_t index, uint8_t value);
    void write_b(uint8_t value);
    void write_time(uint8_t index, uint8_t value);

    int64_t guest_ns() const { return port_.now_ns() + offset_ns_; }
    bool divider_running() const { return (a_ & reg::kADivider) == reg::kDividerNormal; }
    bool updating() const { return divider_running() && (b_ & reg::kBSet) == 0; }
    uint32_t periodic_hz() const; // 0: no periodic interrupt
    // Time encoding (mc146818_time.cpp): BCD or binary, 12 or 24 hours.
    uint8_t encode(unsigned value) const;
    uint8_t encode_hour(unsigned hour) const;
    unsigned decode(uint8_t value) const;
    unsigned decode_hour(uint8_t value) const;
    uint8_t time_register(uint8_t index, int64_t seconds) const;
    int64_t cmos_seconds() const; // the time registers as seconds since the epoch
    void latch_time(int64_t seconds);   // the time into cmos_ (SET goes high)
    void set_time_from_cmos(int64_t fraction_ns);
    bool alarm_matches(int64_t seconds) const;

    void sync();               // flags up to the current time
    void update_irq();         // IRQF from the flags and enables; the line
    void arm();                // the next wake-up an enabled flag needs

    RtcPort port_;
    std::array<uint8_t, kCmosSize> cmos_{}; // 0x00-0x09 and 0x32 used while SET holds
    uint8_t index_ = 0;                     // with bit 7 (NMI mask), as written
    uint8_t a_ = reg::kDividerNormal | 0x06; // 1024 Hz, as firmware leaves it
    uint8_t b_ = reg::kB24h;
    uint8_t c_ = 0;
    int64_t offset_ns_ = 0;
    int64_t synced_ns_ = 0; // guest time up to which the flags are current
};

// The BCD or binary encoding register B's DM bit selects.
uint8_t to_bcd(unsigned value);
unsigned from_bcd(uint8_t value);

} // namespace rtc
