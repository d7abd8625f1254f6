// The descriptor and page tables the VMM writes into guest RAM to start a
// vCPU directly in protected or long mode.
//
// The system area, at a page-aligned guest-physical base:
//   +0x0000  GDT: null, 0x08 code (64-bit in long mode, 32-bit otherwise),
//            0x10 flat data, 0x18 32-bit code (for guests that drop to it)
//   +0x1000  PML4            (long mode only)
//   +0x2000  PDPT
//   +0x3000  page directories, one per GiB, 2 MiB pages, identity-mapped
#pragma once

#include <cstdint>
#include <vector>

namespace vmm::x86 {

inline constexpr uint16_t kCodeSelector = 0x08;
inline constexpr uint16_t kDataSelector = 0x10;
inline constexpr uint16_t kCode32Selector = 0x18;
inline constexpr uint32_t kGdtEntries = 4;

// Long mode maps at least the first 4 GiB (so MMIO below 4 GiB, like the
// local APIC, is reachable) and more when RAM or devices lie higher.
inline constexpr uint64_t kMinMappedGiB = 4;
inline constexpr uint64_t kMaxMappedGiB = 512; // one PDPT

enum class Mode { protected32, long64 };

uint64_t system_area_size(Mode mode, uint64_t mapped_gib);
// The bytes of the system area for `base`.
std::vector<uint8_t> build_system_area(Mode mode, uint64_t base, uint64_t mapped_gib);

// Raw 8-byte GDT descriptors.
uint64_t gdt_entry(uint16_t selector, Mode mode);

// Control-register values the tables assume.
inline constexpr uint64_t kCr0Pe = 1ull << 0, kCr0Mp = 1ull << 1, kCr0Et = 1ull << 4, kCr0Ne = 1ull << 5,
                          kCr0Wp = 1ull << 16, kCr0Pg = 1ull << 31;
inline constexpr uint64_t kCr4Pae = 1ull << 5, kCr4Osfxsr = 1ull << 9, kCr4Osxmmexcpt = 1ull << 10;
inline constexpr uint64_t kEferLme = 1ull << 8, kEferLma = 1ull << 10;

} // namespace vmm::x86
