// The MC146818's registers and its clock; the time encoding is in
// mc146818_time.cpp, the state in mc146818_state.cpp.
#include "mc146818.hpp"

#include <algorithm>

namespace rtc {
namespace {

int64_t floor_div(int64_t a, int64_t b)
{
    const int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

bool is_time_register(uint8_t index)
{
    switch (index) {
    case reg::kSeconds:
    case reg::kMinutes:
    case reg::kHours:
    case reg::kDayOfWeek:
    case reg::kDayOfMonth:
    case reg::kMonth:
    case reg::kYear:
    case reg::kCentury:
        return true;
    default:
        return false;
    }
}

// Periodic ticks are counted from the epoch of the guest's time, so they
// stay in phase with the seconds, as the divider chain keeps them. The
// periods (1/8192 s, ...) are not whole nanoseconds: whole seconds and the
// rest are scaled apart, which cannot overflow.
int64_t ticks_before(int64_t ns, uint32_t hz)
{
    const int64_t second = floor_div(ns, kNsPerSecond);
    const int64_t rest = ns - second * int64_t(kNsPerSecond);
    return second * hz + rest * hz / int64_t(kNsPerSecond);
}

int64_t tick_time(int64_t tick, uint32_t hz) // the first nanosecond at or after the tick
{
    const int64_t second = floor_div(tick, hz);
    const int64_t rest = tick - second * hz;
    return second * int64_t(kNsPerSecond) + (rest * int64_t(kNsPerSecond) + hz - 1) / hz;
}

} // namespace

Mc146818::Mc146818(RtcPort port) : port_(std::move(port)) { synced_ns_ = guest_ns(); }

uint8_t Mc146818::read(uint64_t offset)
{
    if (offset == 0)
        return 0xff; // the index register is write-only on the PC
    return read_register(index_ & 0x7f);
}

void Mc146818::write(uint64_t offset, uint8_t value)
{
    if (offset == 0)
        index_ = value; // bit 7 kept (the NMI mask) but it masks nothing here
    else
        write_register(index_ & 0x7f, value);
}

uint32_t Mc146818::periodic_hz() const
{
    unsigned rate = a_ & reg::kARate;
    if (rate == 0 || !divider_running())
        return 0;
    if (rate <= 2)
        rate += 7; // datasheet table 3: with a 32.768 kHz base, rates 1 and 2 are 256 and 128 Hz
    return 32768u >> (rate - 1);
}

uint8_t Mc146818::read_register(uint8_t index)
{
    if (is_time_register(index)) {
        if (b_ & reg::kBSet)
            return cmos_[index]; // what the guest is setting
        return time_register(index, floor_div(guest_ns(), kNsPerSecond));
    }
    switch (index) {
    case reg::kA: {
        const int64_t into_second = guest_ns() - floor_div(guest_ns(), kNsPerSecond) * int64_t(kNsPerSecond);
        const bool uip = updating() && into_second >= int64_t(kNsPerSecond - kUipNs);
        return static_cast<uint8_t>(a_ | (uip ? reg::kAUip : 0));
    }
    case reg::kB:
        return b_;
    case reg::kC: {
        sync();
        const uint8_t value = c_;
        c_ = 0;
        if (value & reg::kCIrqf)
            port_.interrupt(false);
        arm();
        return value;
    }
    case reg::kD:
        return reg::kDVrt; // the battery is always good
    default:
        return cmos_[index]; // alarms and NVRAM
    }
}

void Mc146818::write_register(uint8_t index, uint8_t value)
{
    if (is_time_register(index)) {
        write_time(index, value);
        return;
    }
    switch (index) {
    case reg::kA:
        sync(); // flags up to now at the old rate
        a_ = value & static_cast<uint8_t>(~reg::kAUip);
        arm();
        return;
    case reg::kB:
        write_b(value);
        return;
    case reg::kC:
    case reg::kD:
        return; // read-only
    default:
        cmos_[index] = value;
        if (index == reg::kSecondsAlarm || index == reg::kMinutesAlarm || index == reg::kHoursAlarm)
            arm();
    }
}

void Mc146818::write_b(uint8_t value)
{
    sync();
    const bool was_set = (b_ & reg::kBSet) != 0;
    if (value & reg::kBSet)
        value &= static_cast<uint8_t>(~reg::kBUie); // datasheet: SET clears UIE
    b_ = value;
    if (!was_set && (b_ & reg::kBSet))
        latch_time(floor_div(guest_ns(), kNsPerSecond));
    else if (was_set && !(b_ & reg::kBSet))
        set_time_from_cmos(0); // the next update comes a full second later
    update_irq();
    arm();
}

void Mc146818::write_time(uint8_t index, uint8_t value)
{
    if (b_ & reg::kBSet) {
        cmos_[index] = value;
        return;
    }
    // Without SET the chip takes the byte into the running clock; QEMU
    // does the same: the new time starts at once, the second keeps its phase.
    sync();
    const int64_t now = guest_ns();
    const int64_t second = floor_div(now, kNsPerSecond);
    latch_time(second);
    cmos_[index] = value;
    set_time_from_cmos(now - second * int64_t(kNsPerSecond));
}

void Mc146818::latch_time(int64_t seconds)
{
    for (uint8_t index : {reg::kSeconds, reg::kMinutes, reg::kHours, reg::kDayOfWeek, reg::kDayOfMonth, reg::kMonth,
                          reg::kYear, reg::kCentury})
        cmos_[index] = time_register(index, seconds);
}

void Mc146818::set_time_from_cmos(int64_t fraction_ns)
{
    offset_ns_ = cmos_seconds() * int64_t(kNsPerSecond) + fraction_ns - port_.now_ns();
    synced_ns_ = guest_ns(); // a jump in time is not an update
}

void Mc146818::sync()
{
    const int64_t now = guest_ns();
    const int64_t before = synced_ns_;
    synced_ns_ = now;
    if (now <= before)
        return; // the host clock stepped back: wait for it, flag nothing
    if (const uint32_t hz = periodic_hz(); hz != 0 && ticks_before(now, hz) > ticks_before(before, hz))
        c_ |= reg::kCPf;
    if (updating()) {
        const int64_t first = floor_div(before, kNsPerSecond) + 1;
        const int64_t last = floor_div(now, kNsPerSecond);
        if (last >= first) {
            c_ |= reg::kCUf;
            // A day of updates covers every time of day the alarm can match.
            for (int64_t s = std::max(first, last - 86'399); s <= last; ++s)
                if (alarm_matches(s)) {
                    c_ |= reg::kCAf;
                    break;
                }
        }
    }
    update_irq();
}

void Mc146818::update_irq()
{
    const bool irqf = ((c_ & reg::kCPf) && (b_ & reg::kBPie)) || ((c_ & reg::kCAf) && (b_ & reg::kBAie)) ||
                      ((c_ & reg::kCUf) && (b_ & reg::kBUie));
    // IRQF falls only when register C is read (datasheet), not when the
    // guest disables the source.
    if (irqf && !(c_ & reg::kCIrqf)) {
        c_ |= reg::kCIrqf;
        port_.interrupt(true);
    }
}

void Mc146818::arm()
{
    if (c_ & reg::kCIrqf)
        return; // the line is high until C is read: nothing to tell earlier
    const int64_t now = guest_ns();
    int64_t next = INT64_MAX;
    if (const uint32_t hz = periodic_hz(); hz != 0 && (b_ & reg::kBPie))
        next = tick_time(ticks_before(now, hz) + 1, hz);
    if (updating() && (b_ & (reg::kBUie | reg::kBAie)))
        next = std::min(next, (floor_div(now, kNsPerSecond) + 1) * int64_t(kNsPerSecond));
    if (next != INT64_MAX)
        port_.arm_timer(static_cast<uint64_t>(std::max<int64_t>(next - now, 1)));
}

void Mc146818::timer_expired()
{
    sync();
    arm();
}

void Mc146818::resync()
{
    port_.interrupt(interrupt_level());
    arm();
}

} // namespace rtc
