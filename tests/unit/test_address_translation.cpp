// Guest-virtual addresses through page tables built in a fake guest RAM,
// in every paging mode, and through a real-mode segment base.
#include "debug/address_translation.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

using namespace vmm::gdb;

namespace {

struct FakeRam {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(1 << 20);
    void put(uint64_t address, uint64_t value, unsigned size) { std::memcpy(&bytes[address], &value, size); }
    PhysicalReader reader()
    {
        return [this](uint64_t address, uint64_t &value, unsigned size) {
            if (address + size > bytes.size())
                return false;
            value = 0;
            std::memcpy(&value, &bytes[address], size);
            return true;
        };
    }
};

constexpr uint64_t kPe = 1, kPg = 1ull << 31, kPae = 1ull << 5, kPse = 1ull << 4, kLma = 1ull << 10;

} // namespace

TEST_CASE("translation: real mode adds the segment base, no paging is linear", "[gdb]")
{
    FakeRam ram;
    TranslationState real{};
    real.segment_base = 0xf0000;
    CHECK(translate(real, 0xfff0, ram.reader())->physical == 0xffff0);
    CHECK_FALSE(translate(real, 0x10000, ram.reader()).has_value());
    TranslationState flat{kPe, 0, 0, 0, 0};
    CHECK(paging_mode(flat) == PagingMode::none);
    CHECK(translate(flat, 0x123456, ram.reader())->physical == 0x123456);
}

TEST_CASE("translation: 4-level paging with 4 KiB, 2 MiB pages and non-present entries", "[gdb]")
{
    FakeRam ram;
    // PML4 at 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000.
    const uint64_t va = 0x00007f0000201234ull;
    ram.put(0x1000 + ((va >> 39) & 511) * 8, 0x2000 | 3, 8);
    ram.put(0x2000 + ((va >> 30) & 511) * 8, 0x3000 | 3, 8);
    ram.put(0x3000 + ((va >> 21) & 511) * 8, 0x4000 | 3, 8);
    ram.put(0x4000 + ((va >> 12) & 511) * 8, 0x9000 | 3, 8);
    // A 2 MiB page right after.
    ram.put(0x3000 + (((va >> 21) + 1) & 511) * 8, 0x200000 | 0x83, 8);
    TranslationState s{kPe | kPg, 0x1000, kPae, kLma, 0};
    CHECK(paging_mode(s) == PagingMode::level4);
    const auto t = translate(s, va, ram.reader());
    REQUIRE(t);
    CHECK(t->physical == 0x9234);
    CHECK(t->bytes_left_in_page == 0x1000 - 0x234);
    CHECK(translate(s, (va & ~0x1fffffull) + 0x200000 + 0x10, ram.reader())->physical == 0x200010);
    CHECK_FALSE(translate(s, va + 0x1000, ram.reader()).has_value());          // PTE not present
    CHECK_FALSE(translate(s, 0x0000800000000000ull, ram.reader()).has_value()); // not canonical
    // A table outside RAM: unmapped, not a crash.
    ram.put(0x4000 + (((va >> 12) + 2) & 511) * 8, 0x9000 | 3, 8);
    ram.put(0x3000 + (((va >> 21) + 2) & 511) * 8, 0x7fff0000000ull | 3, 8);
    CHECK_FALSE(translate(s, va + 0x400000, ram.reader()).has_value());
}

TEST_CASE("translation: PAE and 32-bit paging, with large pages", "[gdb]")
{
    FakeRam ram;
    // PAE: PDPT at 0x1000 (32-byte aligned) -> PD 0x2000 -> PT 0x3000.
    const uint64_t va = 0xc0401abc;
    ram.put(0x1000 + (va >> 30) * 8, 0x2000 | 1, 8);
    ram.put(0x2000 + ((va >> 21) & 511) * 8, 0x3000 | 3, 8);
    ram.put(0x3000 + ((va >> 12) & 511) * 8, 0x7000 | 3, 8);
    TranslationState pae{kPe | kPg, 0x1000, kPae, 0, 0};
    CHECK(paging_mode(pae) == PagingMode::pae);
    CHECK(translate(pae, va, ram.reader())->physical == 0x7abc);
    CHECK_FALSE(translate(pae, 0x100000000ull, ram.reader()).has_value());

    FakeRam ram32;
    // 32-bit: PD at 0x5000 -> PT 0x6000; and a 4 MiB page with PSE.
    ram32.put(0x5000 + (va >> 22) * 4, 0x6000 | 3, 4);
    ram32.put(0x6000 + ((va >> 12) & 1023) * 4, 0x8000 | 3, 4);
    ram32.put(0x5000 + 1 * 4, 0x00c00000 | 0x83, 4);
    TranslationState bits32{kPe | kPg, 0x5000, kPse, 0, 0};
    CHECK(paging_mode(bits32) == PagingMode::bits32);
    CHECK(translate(bits32, va, ram32.reader())->physical == 0x8abc);
    CHECK(translate(bits32, 0x00400010, ram32.reader())->physical == 0x00c00010);
    CHECK_FALSE(translate(bits32, 0x00800000, ram32.reader()).has_value());
}
