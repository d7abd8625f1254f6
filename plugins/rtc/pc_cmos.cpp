#include "pc_cmos.hpp"

#include <algorithm>

namespace rtc {
namespace {

constexpr uint64_t kKiB = 1024, kMiB = 1024 * kKiB, kGiB = 1024 * kMiB;

void put16(Mc146818 &rtc, uint8_t low, uint64_t value)
{
    value = std::min<uint64_t>(value, 0xffff); // the fields saturate, as in QEMU
    rtc.set_cmos(low, static_cast<uint8_t>(value));
    rtc.set_cmos(static_cast<uint8_t>(low + 1), static_cast<uint8_t>(value >> 8));
}

} // namespace

void fill_pc_cmos(Mc146818 &rtc, uint64_t ram_bytes, uint32_t vcpus)
{
    rtc.set_cmos(cmos::kFloppy, 0); // no drives
    rtc.set_cmos(cmos::kEquipment, cmos::kEquipmentFpu | cmos::kEquipmentPs2Mouse);
    put16(rtc, cmos::kBaseLow, 640); // KiB of conventional memory
    // No PCI hole below 4 GiB here: RAM past 4 GiB is all "above 4 GiB".
    const uint64_t below_4g = std::min(ram_bytes, 4 * kGiB);
    const uint64_t extended = below_4g > kMiB ? (below_4g - kMiB) / kKiB : 0;
    put16(rtc, cmos::kExtLow, extended);
    put16(rtc, cmos::kExt2Low, extended);
    put16(rtc, cmos::kAbove16mLow, below_4g > 16 * kMiB ? (below_4g - 16 * kMiB) / (64 * kKiB) : 0);
    const uint64_t above_4g = ram_bytes > 4 * kGiB ? (ram_bytes - 4 * kGiB) / (64 * kKiB) : 0;
    for (uint8_t i = 0; i < 3; ++i)
        rtc.set_cmos(static_cast<uint8_t>(cmos::kAbove4g + i), static_cast<uint8_t>(above_4g >> (8 * i)));
    rtc.set_cmos(cmos::kCpusMinusOne, static_cast<uint8_t>(vcpus > 0 ? vcpus - 1 : 0));
}

} // namespace rtc
