// The MC146818's time registers: the guest's seconds since the epoch to
// and from the encoding register B selects (DM: binary or BCD; 24/12:
// hours 0-23, or 1-12 with bit 7 for PM). Always UTC, as QEMU's default
// (the PC keeps local time only if its firmware or OS says so).
#include "mc146818.hpp"

#include <ctime>

namespace rtc {

uint8_t to_bcd(unsigned value) { return static_cast<uint8_t>(((value / 10) % 10) << 4 | value % 10); }
unsigned from_bcd(uint8_t value) { return (value >> 4) * 10u + (value & 0x0f); }

uint8_t Mc146818::encode(unsigned value) const
{
    return (b_ & reg::kBDm) ? static_cast<uint8_t>(value) : to_bcd(value);
}

unsigned Mc146818::decode(uint8_t value) const { return (b_ & reg::kBDm) ? value : from_bcd(value); }

uint8_t Mc146818::encode_hour(unsigned hour) const
{
    if (b_ & reg::kB24h)
        return encode(hour);
    const unsigned twelve = hour % 12 == 0 ? 12 : hour % 12;
    return static_cast<uint8_t>(encode(twelve) | (hour >= 12 ? reg::kHourPm : 0));
}

unsigned Mc146818::decode_hour(uint8_t value) const
{
    if (b_ & reg::kB24h)
        return decode(value);
    return decode(value & static_cast<uint8_t>(~reg::kHourPm)) % 12 + ((value & reg::kHourPm) ? 12 : 0);
}

uint8_t Mc146818::time_register(uint8_t index, int64_t seconds) const
{
    const time_t t = static_cast<time_t>(seconds);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    const unsigned year = static_cast<unsigned>(tm.tm_year + 1900);
    switch (index) {
    case reg::kSeconds:
        return encode(static_cast<unsigned>(tm.tm_sec));
    case reg::kMinutes:
        return encode(static_cast<unsigned>(tm.tm_min));
    case reg::kHours:
        return encode_hour(static_cast<unsigned>(tm.tm_hour));
    case reg::kDayOfWeek:
        return encode(static_cast<unsigned>(tm.tm_wday) + 1); // Sunday is 1
    case reg::kDayOfMonth:
        return encode(static_cast<unsigned>(tm.tm_mday));
    case reg::kMonth:
        return encode(static_cast<unsigned>(tm.tm_mon) + 1);
    case reg::kYear:
        return encode(year % 100);
    case reg::kCentury:
        return encode(year / 100);
    default:
        return 0;
    }
}

int64_t Mc146818::cmos_seconds() const
{
    // timegm() normalizes values out of range (a 13th month is January of
    // the next year); the chip would count on from them in its own way.
    std::tm tm{};
    tm.tm_sec = static_cast<int>(decode(cmos_[reg::kSeconds]));
    tm.tm_min = static_cast<int>(decode(cmos_[reg::kMinutes]));
    tm.tm_hour = static_cast<int>(decode_hour(cmos_[reg::kHours]));
    tm.tm_mday = static_cast<int>(decode(cmos_[reg::kDayOfMonth]));
    tm.tm_mon = static_cast<int>(decode(cmos_[reg::kMonth])) - 1;
    tm.tm_year = static_cast<int>(decode(cmos_[reg::kCentury]) * 100 + decode(cmos_[reg::kYear])) - 1900;
    return static_cast<int64_t>(::timegm(&tm)); // day of week: derived, as it is on read
}

bool Mc146818::alarm_matches(int64_t seconds) const
{
    // Time of day only, without gmtime: sync() may ask for a day of seconds.
    int64_t of_day = seconds % 86'400;
    if (of_day < 0)
        of_day += 86'400;
    const auto matches = [](uint8_t alarm, uint8_t now) { return alarm >= reg::kAlarmDontCare || alarm == now; };
    return matches(cmos_[reg::kSecondsAlarm], encode(static_cast<unsigned>(of_day % 60))) &&
           matches(cmos_[reg::kMinutesAlarm], encode(static_cast<unsigned>(of_day / 60 % 60))) &&
           matches(cmos_[reg::kHoursAlarm], encode_hour(static_cast<unsigned>(of_day / 3600)));
}

} // namespace rtc
