#include "boot/x86_tables.hpp"

#include <cstring>
#include <stdexcept>

namespace vmm::x86 {
namespace {

constexpr uint64_t kPage = 0x1000;
constexpr uint64_t kPresent = 1ull << 0, kWritable = 1ull << 1, kLargePage = 1ull << 7;

void store64(std::vector<uint8_t> &bytes, uint64_t offset, uint64_t value)
{
    if (offset > bytes.size() || bytes.size() - offset < 8)
        throw std::logic_error("x86 table entry outside its area");
    std::memcpy(bytes.data() + offset, &value, 8);
}

} // namespace

uint64_t gdt_entry(uint16_t selector, Mode mode)
{
    switch (selector) {
    case kCodeSelector:
        // Present, DPL 0, code, execute/read; long mode sets L, else D (32-bit) + 4 KiB granularity.
        return mode == Mode::long64 ? 0x00af9a000000ffffull : 0x00cf9a000000ffffull;
    case kDataSelector: return 0x00cf92000000ffffull; // flat read/write data, 4 GiB
    case kCode32Selector: return 0x00cf9a000000ffffull;
    default: return 0;
    }
}

uint64_t system_area_size(Mode mode, uint64_t mapped_gib)
{
    return mode == Mode::long64 ? kPage * (3 + mapped_gib) : kPage;
}

std::vector<uint8_t> build_system_area(Mode mode, uint64_t base, uint64_t mapped_gib)
{
    std::vector<uint8_t> area(system_area_size(mode, mapped_gib), 0);
    for (uint16_t i = 1; i < kGdtEntries; ++i)
        store64(area, i * 8u, gdt_entry(static_cast<uint16_t>(i * 8), mode));
    if (mode != Mode::long64)
        return area;

    const uint64_t pml4 = base + kPage, pdpt = base + 2 * kPage, directories = base + 3 * kPage;
    store64(area, pml4 - base, pdpt | kPresent | kWritable);
    for (uint64_t gib = 0; gib < mapped_gib; ++gib) {
        const uint64_t directory = directories + gib * kPage;
        store64(area, pdpt - base + gib * 8, directory | kPresent | kWritable);
        for (uint64_t entry = 0; entry < 512; ++entry) {
            const uint64_t physical = (gib << 30) | (entry << 21);
            store64(area, directory - base + entry * 8, physical | kPresent | kWritable | kLargePage);
        }
    }
    return area;
}

} // namespace vmm::x86
