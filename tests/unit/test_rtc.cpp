// The MC146818 model (plugins/rtc/mc146818.hpp) without a host: a fake port
// owns the wall clock, records the interrupt line and the timer requests,
// so time is moved by hand. Expectations follow the Motorola MC146818A
// datasheet; the NVRAM contents follow QEMU's pc machine.
#include "mc146818.hpp"
#include "pc_cmos.hpp"

#include <vmm/sdk/state.hpp>

#include <catch2/catch.hpp>

#include <optional>
#include <vector>

using namespace rtc;

namespace {

constexpr int64_t kSecond = 1'000'000'000;
// Friday 2024-03-15 13:45:30 UTC.
constexpr int64_t kStart = 1'710'510'330 * kSecond;

struct Harness {
    int64_t now = kStart;
    std::vector<bool> edges; // every interrupt() call, in order
    std::optional<uint64_t> armed;
    Mc146818 rtc{port()};

    // The periodic flag off (rate 0), so that only the flag under test
    // shows in register C; firmware's 1024 Hz is checked on its own.
    Harness() { set(reg::kA, reg::kDividerNormal); }

    RtcPort port()
    {
        RtcPort p;
        p.interrupt = [this](bool level) { edges.push_back(level); };
        p.now_ns = [this] { return now; };
        p.arm_timer = [this](uint64_t delay) { armed = delay; };
        return p;
    }

    uint8_t get(uint8_t index)
    {
        rtc.write(0, index);
        return rtc.read(1);
    }
    void set(uint8_t index, uint8_t value)
    {
        rtc.write(0, index);
        rtc.write(1, value);
    }
    // Time passes; the timer fires if it was due.
    void advance(int64_t ns)
    {
        const int64_t until = now + ns;
        while (armed && now + static_cast<int64_t>(*armed) <= until) {
            now += static_cast<int64_t>(*armed);
            armed.reset();
            rtc.timer_expired();
        }
        if (armed)
            *armed -= static_cast<uint64_t>(until - now);
        now = until;
    }
};

} // namespace

TEST_CASE("rtc: the time in BCD, 24-hour mode, as firmware leaves it", "[rtc]")
{
    Harness clock;
    Mc146818 fresh(clock.port());
    fresh.write(0, reg::kA);
    CHECK(fresh.read(1) == (reg::kDividerNormal | 0x06)); // 1024 Hz
    fresh.write(0, reg::kB);
    CHECK(fresh.read(1) == reg::kB24h);

    Harness h;
    CHECK(h.get(reg::kSeconds) == 0x30);
    CHECK(h.get(reg::kMinutes) == 0x45);
    CHECK(h.get(reg::kHours) == 0x13);
    CHECK(h.get(reg::kDayOfWeek) == 0x06); // Friday; Sunday is 1
    CHECK(h.get(reg::kDayOfMonth) == 0x15);
    CHECK(h.get(reg::kMonth) == 0x03);
    CHECK(h.get(reg::kYear) == 0x24);
    CHECK(h.get(reg::kCentury) == 0x20);
    CHECK(h.get(reg::kD) == reg::kDVrt);
    h.advance(kSecond);
    CHECK(h.get(reg::kSeconds) == 0x31);
}

TEST_CASE("rtc: binary and 12-hour encodings follow register B", "[rtc]")
{
    Harness h;
    h.set(reg::kB, reg::kBDm | reg::kB24h);
    CHECK(h.get(reg::kSeconds) == 30);
    CHECK(h.get(reg::kHours) == 13);
    CHECK(h.get(reg::kYear) == 24);
    CHECK(h.get(reg::kCentury) == 20);
    h.set(reg::kB, reg::kBDm); // binary, 12 hours
    CHECK(h.get(reg::kHours) == (0x80 | 1));
    h.set(reg::kB, 0); // BCD, 12 hours
    CHECK(h.get(reg::kHours) == 0x81);
    h.now = 1'710'461'100 * kSecond; // 00:05
    CHECK(h.get(reg::kHours) == 0x12); // midnight is 12 AM
    h.now += 12 * 3600 * kSecond;      // 12:05
    CHECK(h.get(reg::kHours) == 0x92); // noon is 12 PM
}

TEST_CASE("rtc: UIP is set for the last 244 us before each update", "[rtc]")
{
    Harness h;
    CHECK((h.get(reg::kA) & reg::kAUip) == 0);
    h.now = kStart + kSecond - 244'001;
    CHECK((h.get(reg::kA) & reg::kAUip) == 0);
    h.now = kStart + kSecond - 244'000;
    CHECK((h.get(reg::kA) & reg::kAUip) != 0);
    CHECK(h.get(reg::kSeconds) == 0x30); // the update has not happened yet
    h.now = kStart + kSecond - 1;
    CHECK((h.get(reg::kA) & reg::kAUip) != 0);
    h.now = kStart + kSecond;
    CHECK((h.get(reg::kA) & reg::kAUip) == 0);
    CHECK(h.get(reg::kSeconds) == 0x31);
    h.now = kStart + 2 * kSecond - 100;
    h.set(reg::kB, reg::kBSet | reg::kB24h);
    CHECK((h.get(reg::kA) & reg::kAUip) == 0); // no updates while SET holds
    h.set(reg::kA, 0x70 | 0x06);                // a divider held in reset
    h.set(reg::kB, reg::kB24h);
    h.now = kStart + 3 * kSecond - 100;
    CHECK((h.get(reg::kA) & reg::kAUip) == 0);
}

TEST_CASE("rtc: register C clears on read and lowers the line", "[rtc]")
{
    Harness h;
    h.set(reg::kB, reg::kBUie | reg::kB24h);
    REQUIRE(h.armed);
    CHECK(*h.armed == static_cast<uint64_t>(kSecond)); // the next update
    h.advance(kSecond);
    CHECK(h.edges == std::vector<bool>{true});
    CHECK(!h.armed); // IRQF is set: nothing to wake for until C is read
    h.set(reg::kC, 0);  // read-only
    CHECK(h.get(reg::kC) == (reg::kCIrqf | reg::kCUf));
    CHECK(h.edges == std::vector<bool>{true, false});
    CHECK(h.get(reg::kC) == 0);
    CHECK(h.edges.size() == 2);
    REQUIRE(h.armed);
}

TEST_CASE("rtc: update-ended flag without its interrupt", "[rtc]")
{
    Harness h;
    h.advance(kSecond / 2);
    CHECK(h.get(reg::kC) == 0);
    h.advance(kSecond / 2);
    CHECK(h.get(reg::kC) == reg::kCUf); // no UIE: the flag, no IRQF
    CHECK(h.edges.empty());
    CHECK(!h.armed);
    // Enabling the interrupt while the flag is set raises the line at once.
    h.advance(kSecond);
    h.set(reg::kB, reg::kBUie | reg::kB24h);
    CHECK(h.edges == std::vector<bool>{true});
}

TEST_CASE("rtc: periodic interrupt at the rate register A selects", "[rtc]")
{
    Harness h;
    h.set(reg::kA, reg::kDividerNormal | 0x06); // 1024 Hz
    h.set(reg::kB, reg::kBPie | reg::kB24h);
    REQUIRE(h.armed);
    CHECK(*h.armed == 976'563); // 1/1024 s, rounded up to a nanosecond
    h.advance(1'000'000);
    CHECK(h.edges == std::vector<bool>{true});
    CHECK(h.get(reg::kC) == (reg::kCIrqf | reg::kCPf));
    CHECK(h.edges == std::vector<bool>{true, false});

    h.set(reg::kA, reg::kDividerNormal | 0x0f); // 2 Hz
    REQUIRE(h.armed);
    CHECK(*h.armed == static_cast<uint64_t>(kSecond / 2 - 1'000'000));
    h.set(reg::kA, reg::kDividerNormal | 0x03); // 8192 Hz
    CHECK(*h.armed == 98'633); // tick 9 of 1/8192 s, at 1'098'632.8 ns
    h.set(reg::kA, reg::kDividerNormal | 0x01); // rate 1: 256 Hz, as rate 8
    CHECK(*h.armed == 3'906'250 - 1'000'000);
    h.set(reg::kA, reg::kDividerNormal | 0x02); // rate 2: 128 Hz, as rate 9
    CHECK(*h.armed == 7'812'500 - 1'000'000);
}

TEST_CASE("rtc: the periodic flag is set without PIE, and not with rate 0", "[rtc]")
{
    Harness h;
    h.set(reg::kA, reg::kDividerNormal | 0x06);
    h.advance(2'000'000);
    CHECK(h.get(reg::kC) == reg::kCPf);
    CHECK(h.edges.empty());
    h.set(reg::kA, reg::kDividerNormal); // rate 0: off
    h.advance(2'000'000);
    CHECK(h.get(reg::kC) == 0);
}

TEST_CASE("rtc: the alarm, with don't-care values", "[rtc]")
{
    Harness h;
    h.set(reg::kSecondsAlarm, 0x32);
    h.set(reg::kMinutesAlarm, 0x45);
    h.set(reg::kHoursAlarm, 0x13);
    h.set(reg::kB, reg::kBAie | reg::kB24h);
    h.advance(kSecond); // 13:45:31
    CHECK(h.edges.empty());
    h.advance(kSecond); // 13:45:32
    CHECK(h.edges == std::vector<bool>{true});
    CHECK(h.get(reg::kC) == (reg::kCIrqf | reg::kCAf | reg::kCUf));

    // Any hour, any minute, second 0: the next minute.
    h.set(reg::kSecondsAlarm, 0x00);
    h.set(reg::kMinutesAlarm, 0xff);
    h.set(reg::kHoursAlarm, 0xc0);
    h.advance(27 * kSecond); // 13:45:59
    CHECK(h.edges.size() == 2);
    h.advance(kSecond); // 13:46:00
    CHECK(h.edges.size() == 3);
    CHECK((h.get(reg::kC) & reg::kCAf) != 0);
}

TEST_CASE("rtc: an alarm passed while nobody looked is flagged on the next read", "[rtc]")
{
    Harness h;
    h.set(reg::kSecondsAlarm, 0x00);
    h.set(reg::kMinutesAlarm, 0x50);
    h.set(reg::kHoursAlarm, 0x13);
    h.now += 3600 * kSecond; // 14:45:30: 13:50:00 went by
    CHECK(h.get(reg::kC) == (reg::kCAf | reg::kCUf));
    h.now += 3600 * kSecond;
    CHECK(h.get(reg::kC) == reg::kCUf); // not again before tomorrow
    h.set(reg::kHoursAlarm, 0x25);      // an hour that never comes
    h.now += 3 * 86'400 * kSecond;
    CHECK(h.get(reg::kC) == reg::kCUf);
}

TEST_CASE("rtc: SET holds the registers and sets the guest's time", "[rtc]")
{
    Harness h;
    h.set(reg::kB, reg::kBSet | reg::kBUie | reg::kB24h);
    CHECK(h.get(reg::kB) == (reg::kBSet | reg::kB24h)); // SET clears UIE
    h.set(reg::kYear, 0x30);
    h.set(reg::kHours, 0x08);
    h.set(reg::kSeconds, 0x00);
    h.advance(5 * kSecond);
    CHECK(h.get(reg::kSeconds) == 0x00); // held
    CHECK(h.get(reg::kYear) == 0x30);
    CHECK(h.get(reg::kC) == 0); // no updates while SET holds
    h.set(reg::kB, reg::kB24h);
    CHECK(h.get(reg::kYear) == 0x30);
    CHECK(h.get(reg::kHours) == 0x08);
    CHECK(h.get(reg::kMinutes) == 0x45);
    CHECK(h.get(reg::kDayOfWeek) == 0x06); // 2030-03-15 is a Friday too
    CHECK(h.get(reg::kC) == 0);            // a jump in time is no update
    h.advance(kSecond - 1);
    CHECK(h.get(reg::kSeconds) == 0x00);
    h.advance(1); // a full second after SET was cleared
    CHECK(h.get(reg::kSeconds) == 0x01);
    CHECK(h.rtc.offset_ns() != 0);

    // The host's clock is unchanged: only the offset moved.
    Harness other;
    other.now = h.now;
    CHECK(other.get(reg::kYear) == 0x24);
}

TEST_CASE("rtc: a time register written without SET takes effect at once", "[rtc]")
{
    Harness h;
    h.advance(kSecond / 4);
    h.set(reg::kMinutes, 0x10);
    CHECK(h.get(reg::kMinutes) == 0x10);
    CHECK(h.get(reg::kSeconds) == 0x30);
    h.advance(kSecond * 3 / 4); // the second keeps its phase
    CHECK(h.get(reg::kSeconds) == 0x31);
    h.set(reg::kB, reg::kBDm | reg::kB24h);
    h.set(reg::kHours, 23);
    CHECK(h.get(reg::kHours) == 23);
    h.set(reg::kB, reg::kB24h);
    CHECK(h.get(reg::kHours) == 0x23);
}

TEST_CASE("rtc: NVRAM and the index register", "[rtc]")
{
    Harness h;
    for (unsigned i = 0x0e; i < 0x80; ++i)
        if (i != reg::kCentury)
            h.set(static_cast<uint8_t>(i), static_cast<uint8_t>(i ^ 0x5a));
    for (unsigned i = 0x0e; i < 0x80; ++i)
        if (i != reg::kCentury)
            CHECK(h.get(static_cast<uint8_t>(i)) == (i ^ 0x5a));
    h.rtc.write(0, 0x80 | 0x20); // NMI masked, index 0x20
    CHECK(h.rtc.nmi_masked());
    CHECK(h.rtc.read(1) == (0x20 ^ 0x5a));
    CHECK(h.rtc.read(0) == 0xff); // the index is write-only
    h.set(reg::kSecondsAlarm, 0x12);
    CHECK(h.get(reg::kSecondsAlarm) == 0x12);
    h.set(reg::kD, 0);
    CHECK(h.get(reg::kD) == reg::kDVrt);
}

TEST_CASE("rtc: the NVRAM bytes of a PC", "[rtc]")
{
    const auto cmos16 = [](const Mc146818 &rtc, uint8_t low) { return rtc.cmos(low) | rtc.cmos(low + 1) << 8; };
    Harness h;
    fill_pc_cmos(h.rtc, 0);
    CHECK(h.rtc.cmos(cmos::kFloppy) == 0);
    CHECK(h.rtc.cmos(cmos::kEquipment) == 0x06);
    CHECK(cmos16(h.rtc, cmos::kBaseLow) == 640);
    CHECK(cmos16(h.rtc, cmos::kExtLow) == 0);
    CHECK(cmos16(h.rtc, cmos::kAbove16mLow) == 0);

    fill_pc_cmos(h.rtc, 16 << 20);
    CHECK(cmos16(h.rtc, cmos::kExtLow) == 15 * 1024);
    CHECK(cmos16(h.rtc, cmos::kExt2Low) == 15 * 1024);
    CHECK(cmos16(h.rtc, cmos::kAbove16mLow) == 0);

    fill_pc_cmos(h.rtc, 128 << 20);
    CHECK(cmos16(h.rtc, cmos::kExtLow) == 0xffff); // capped
    CHECK(cmos16(h.rtc, cmos::kAbove16mLow) == 112 * 16);
    CHECK(h.get(cmos::kAbove16mHigh) == 0x07); // the guest reads them too
    CHECK(h.rtc.cmos(cmos::kAbove4g) == 0);

    fill_pc_cmos(h.rtc, 6ull << 30);
    CHECK(cmos16(h.rtc, cmos::kAbove16mLow) == 0xff00); // 4 GiB - 16 MiB
    CHECK((h.rtc.cmos(cmos::kAbove4g) | h.rtc.cmos(cmos::kAbove4g + 1) << 8 | h.rtc.cmos(cmos::kAbove4g + 2) << 16) ==
          0x8000); // 2 GiB in 64 KiB units

    CHECK(h.rtc.cmos(cmos::kCpusMinusOne) == 0); // one CPU by default
    fill_pc_cmos(h.rtc, 64 << 20, 4);
    CHECK(h.rtc.cmos(cmos::kCpusMinusOne) == 3);
}

TEST_CASE("rtc: state round trip", "[rtc]")
{
    Harness h;
    fill_pc_cmos(h.rtc, 64 << 20);
    h.set(0x40, 0xab);
    h.set(reg::kSecondsAlarm, 0x42);
    h.set(reg::kB, reg::kBSet | reg::kB24h);
    h.set(reg::kYear, 0x99);
    h.set(reg::kB, reg::kBUie | reg::kB24h);
    h.set(reg::kA, reg::kDividerNormal | 0x0a);
    h.advance(kSecond); // IRQF pending
    REQUIRE(h.edges.back());
    h.rtc.write(0, 0x80 | reg::kSeconds);
    const std::vector<uint8_t> blob = h.rtc.save();

    Harness to;
    to.now = h.now;
    to.rtc.load(blob);
    CHECK(to.edges == std::vector<bool>{true}); // the line as the state says
    CHECK(to.rtc.nmi_masked());
    CHECK(to.rtc.read(1) == h.get(reg::kSeconds));
    CHECK(to.rtc.offset_ns() == h.rtc.offset_ns());
    CHECK(to.get(reg::kYear) == 0x99);
    CHECK(to.get(0x40) == 0xab);
    CHECK(to.get(reg::kSecondsAlarm) == 0x42);
    CHECK(to.get(cmos::kAbove16mHigh) == 0x03); // 48 MiB in 64 KiB units
    CHECK((to.get(reg::kA) & 0x7f) == (reg::kDividerNormal | 0x0a));
    CHECK(to.get(reg::kB) == (reg::kBUie | reg::kB24h));
    CHECK(to.get(reg::kC) == (reg::kCIrqf | reg::kCPf | reg::kCUf));
    CHECK(to.edges == std::vector<bool>{true, false});

    Harness bad;
    std::vector<uint8_t> truncated(blob.begin(), blob.end() - 1);
    CHECK_THROWS_AS(bad.rtc.load(truncated), vmm::sdk::StateError);
    CHECK(bad.get(reg::kYear) == 0x24); // unchanged
    vmm::sdk::StateWriter other("uart16550", 2);
    CHECK_THROWS_AS(bad.rtc.load(other.finish()), vmm::sdk::StateError);
}
