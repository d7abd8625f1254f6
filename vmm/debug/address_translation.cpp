#include "debug/address_translation.hpp"

namespace vmm::gdb {
namespace {

constexpr uint64_t kCr0Pe = 1ull << 0;
constexpr uint64_t kCr0Pg = 1ull << 31;
constexpr uint64_t kCr4Pse = 1ull << 4;
constexpr uint64_t kCr4Pae = 1ull << 5;
constexpr uint64_t kCr4La57 = 1ull << 12;
constexpr uint64_t kEferLma = 1ull << 10;
constexpr uint64_t kPresent = 1;
constexpr uint64_t kLarge = 1ull << 7;
constexpr uint64_t kAddressMask = 0x000ffffffffff000ull; // bits 12-51 of a 64-bit entry

std::optional<Translation> done(uint64_t base, uint64_t virtual_address, unsigned offset_bits)
{
    const uint64_t page_mask = (1ull << offset_bits) - 1;
    return Translation{base + (virtual_address & page_mask), (page_mask - (virtual_address & page_mask)) + 1};
}

std::optional<Translation> walk64(const TranslationState &state, uint64_t va, unsigned levels,
                                  const PhysicalReader &read)
{
    // Canonical: the bits above the top one translated copy it.
    const unsigned top = levels == 5 ? 56 : 47;
    const int64_t shifted = static_cast<int64_t>(va << (63 - top)) >> (63 - top);
    if (static_cast<uint64_t>(shifted) != va)
        return std::nullopt;
    uint64_t table = state.cr3 & kAddressMask;
    for (unsigned level = levels; level >= 1; --level) {
        const unsigned shift = 12 + 9 * (level - 1);
        const uint64_t index = (va >> shift) & 511;
        uint64_t entry = 0;
        if (!read(table + index * 8, entry, 8) || (entry & kPresent) == 0)
            return std::nullopt;
        // 1 GiB (level 3) and 2 MiB (level 2) pages.
        if ((level == 2 || level == 3) && (entry & kLarge) != 0) {
            const uint64_t mask = kAddressMask & ~((1ull << shift) - 1);
            return done(entry & mask, va, shift);
        }
        if (level == 1)
            return done(entry & kAddressMask, va, 12);
        table = entry & kAddressMask;
    }
    return std::nullopt;
}

std::optional<Translation> walk_pae(const TranslationState &state, uint64_t va, const PhysicalReader &read)
{
    va &= 0xffffffffull;
    uint64_t pdpte = 0;
    if (!read((state.cr3 & 0xffffffe0ull) + ((va >> 30) & 3) * 8, pdpte, 8) || (pdpte & kPresent) == 0)
        return std::nullopt;
    uint64_t pde = 0;
    if (!read((pdpte & kAddressMask) + ((va >> 21) & 511) * 8, pde, 8) || (pde & kPresent) == 0)
        return std::nullopt;
    if ((pde & kLarge) != 0)
        return done(pde & kAddressMask & ~0x1fffffull, va, 21);
    uint64_t pte = 0;
    if (!read((pde & kAddressMask) + ((va >> 12) & 511) * 8, pte, 8) || (pte & kPresent) == 0)
        return std::nullopt;
    return done(pte & kAddressMask, va, 12);
}

std::optional<Translation> walk32(const TranslationState &state, uint64_t va, const PhysicalReader &read)
{
    va &= 0xffffffffull;
    uint64_t pde = 0;
    if (!read((state.cr3 & 0xfffff000ull) + ((va >> 22) & 1023) * 4, pde, 4) || (pde & kPresent) == 0)
        return std::nullopt;
    if ((pde & kLarge) != 0 && (state.cr4 & kCr4Pse) != 0) {
        // PSE-36: bits 13-20 of the entry are physical bits 32-39.
        const uint64_t base = (pde & 0xffc00000ull) | ((pde >> 13) & 0xffull) << 32;
        return done(base, va, 22);
    }
    uint64_t pte = 0;
    if (!read((pde & 0xfffff000ull) + ((va >> 12) & 1023) * 4, pte, 4) || (pte & kPresent) == 0)
        return std::nullopt;
    return done(pte & 0xfffff000ull, va, 12);
}

} // namespace

PagingMode paging_mode(const TranslationState &s)
{
    if ((s.cr0 & kCr0Pe) == 0)
        return PagingMode::real;
    if ((s.cr0 & kCr0Pg) == 0)
        return PagingMode::none;
    if ((s.efer & kEferLma) != 0)
        return (s.cr4 & kCr4La57) != 0 ? PagingMode::level5 : PagingMode::level4;
    return (s.cr4 & kCr4Pae) != 0 ? PagingMode::pae : PagingMode::bits32;
}

const char *paging_mode_name(PagingMode mode)
{
    switch (mode) {
    case PagingMode::real: return "real mode (segment base + offset)";
    case PagingMode::none: return "protected mode without paging";
    case PagingMode::bits32: return "32-bit paging";
    case PagingMode::pae: return "PAE paging";
    case PagingMode::level4: return "4-level paging";
    case PagingMode::level5: return "5-level paging";
    }
    return "?";
}

std::optional<Translation> translate(const TranslationState &state, uint64_t va, const PhysicalReader &read)
{
    switch (paging_mode(state)) {
    case PagingMode::real: {
        // Offsets are 16-bit; the linear address may pass 1 MiB (A20 on).
        if (va > 0xffff)
            return std::nullopt;
        const uint64_t linear = state.segment_base + va;
        return Translation{linear, 0x10000 - va};
    }
    case PagingMode::none: {
        const uint64_t linear = (state.segment_base + va) & 0xffffffffull;
        if (va > 0xffffffffull)
            return std::nullopt;
        return Translation{linear, 0x100000000ull - linear};
    }
    case PagingMode::bits32: return va > 0xffffffffull ? std::nullopt : walk32(state, va, read);
    case PagingMode::pae: return va > 0xffffffffull ? std::nullopt : walk_pae(state, va, read);
    case PagingMode::level4: return walk64(state, va, 4, read);
    case PagingMode::level5: return walk64(state, va, 5, read);
    }
    return std::nullopt;
}

} // namespace vmm::gdb
