// The NVRAM bytes a PC's firmware and boot loaders read, filled as QEMU's
// pc machine fills them (hw/i386/pc.c, pc_cmos_init), for a guest with
// `ram_bytes` of RAM from address 0 and `vcpus` processors.
#pragma once

#include "mc146818.hpp"

namespace rtc {

namespace cmos {
constexpr uint8_t kFloppy = 0x10, kEquipment = 0x14, kBaseLow = 0x15, kBaseHigh = 0x16, kExtLow = 0x17,
                  kExtHigh = 0x18, kExt2Low = 0x30, kExt2High = 0x31, kAbove16mLow = 0x34, kAbove16mHigh = 0x35,
                  kAbove4g = 0x5b, // 3 bytes, 64 KiB units
                  kCpusMinusOne = 0x5f;
constexpr uint8_t kEquipmentFpu = 0x02, kEquipmentPs2Mouse = 0x04;
} // namespace cmos

void fill_pc_cmos(Mc146818 &rtc, uint64_t ram_bytes, uint32_t vcpus = 1);

} // namespace rtc
