// Guest-virtual to guest-physical, as the stopped vCPU would translate: by
// its own page tables in its current paging mode (4-level, PAE, 32-bit, or
// none), and in real mode through a segment base, so that a debugger's
// addresses mean what they mean to the guest.
//
// Page-table entries are read through a callback that sees guest RAM only:
// a table in MMIO or outside memory makes the address unmapped, and no
// device is ever touched.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

namespace vmm::gdb {

struct TranslationState {
    uint64_t cr0 = 0, cr3 = 0, cr4 = 0, efer = 0;
    uint64_t segment_base = 0; // real mode and unpaged protected mode: CS's base
};

enum class PagingMode { real, none, bits32, pae, level4, level5 };
PagingMode paging_mode(const TranslationState &state);
const char *paging_mode_name(PagingMode mode);

// Reads `size` (4 or 8) bytes of guest-physical memory, little-endian;
// false if they are not all RAM.
using PhysicalReader = std::function<bool(uint64_t address, uint64_t &value, unsigned size)>;

struct Translation {
    uint64_t physical = 0;
    uint64_t bytes_left_in_page = 0; // how far the mapping runs on contiguously
};

// Nothing when the address is not mapped (or not canonical, or its tables
// are not in RAM).
std::optional<Translation> translate(const TranslationState &state, uint64_t virtual_address,
                                     const PhysicalReader &read);

} // namespace vmm::gdb
