// The system area of mode = "user" (vmm/boot/user_mode_tables.hpp): the
// pages a CPL 3 guest may touch, its TSSes and I/O bitmap, its handler.
#include "boot/user_mode_tables.hpp"

#include <catch2/catch.hpp>

#include <cstring>

using namespace vmm::x86::user;

namespace {

uint64_t load64(const std::vector<uint8_t> &area, uint64_t offset)
{
    REQUIRE(offset + 8 <= area.size());
    uint64_t value = 0;
    std::memcpy(&value, area.data() + offset, 8);
    return value;
}

// Walks the area's own tables for `address`: the leaf entry's flags.
uint64_t leaf_entry(const Layout &layout, const std::vector<uint8_t> &area, uint64_t address)
{
    const auto at = [&](uint64_t physical) { return physical - layout.base(); };
    const uint64_t pml4e = load64(area, at(layout.pml4()) + ((address >> 39) & 511) * 8);
    REQUIRE((pml4e & 1) == 1);
    const uint64_t pdpte = load64(area, at(pml4e & ~0xfffull) + ((address >> 30) & 511) * 8);
    REQUIRE((pdpte & 1) == 1);
    const uint64_t pde = load64(area, at(pdpte & ~0xfffull) + ((address >> 21) & 511) * 8);
    REQUIRE((pde & 1) == 1);
    if (pde & 0x80) {
        CHECK((pde & ~0x1fffffull & ((1ull << 52) - 1)) == (address & ~0x1fffffull)); // identity
        return pde;
    }
    const uint64_t pte = load64(area, at(pde & ~0xfffull) + ((address >> 12) & 511) * 8);
    CHECK((pte & ~0xfffull & ((1ull << 52) - 1)) == (address & ~0xfffull)); // identity
    return pte;
}

bool user_accessible(const Layout &layout, const std::vector<uint8_t> &area, uint64_t address)
{
    return (leaf_entry(layout, area, address) & 4) != 0;
}

} // namespace

TEST_CASE("user-mode tables: every page is user-accessible except the VMM's own area", "[unit][user-mode]")
{
    // An area that straddles a 2 MiB boundary, with 4 vCPUs.
    const uint64_t base = 0x1ff000;
    const Layout layout(base, 4, 4);
    REQUIRE(layout.size() == Layout::size_for(4, 4));
    const std::vector<uint8_t> area = build_system_area(layout);
    REQUIRE(area.size() == layout.size());
    CHECK(user_accessible(layout, area, 0x1000));
    CHECK(user_accessible(layout, area, base - 1));
    CHECK_FALSE(user_accessible(layout, area, base));
    CHECK_FALSE(user_accessible(layout, area, layout.tss(3)));
    CHECK_FALSE(user_accessible(layout, area, base + layout.size() - 1));
    CHECK(user_accessible(layout, area, base + layout.size()));
    CHECK(user_accessible(layout, area, 0xfee00000)); // MMIO below 4 GiB stays reachable
}

TEST_CASE("user-mode tables: each vCPU's TSS has its own RSP0 and reaches the shared all-ports I/O bitmap",
          "[unit][user-mode]")
{
    const Layout layout(0x100000, 4, 3);
    const std::vector<uint8_t> area = build_system_area(layout);
    const uint64_t bitmap = layout.tss(3);
    for (uint32_t vcpu = 0; vcpu < 3; ++vcpu) {
        const uint64_t tss = layout.tss(vcpu) - layout.base();
        CHECK(load64(area, tss + 4) == layout.handler_stack_top(vcpu));
        uint16_t io_map = 0;
        std::memcpy(&io_map, area.data() + tss + 102, 2);
        CHECK(layout.tss(vcpu) + io_map == bitmap);
        // The limit covers the whole bitmap and its terminating byte.
        CHECK(layout.tss(vcpu) + layout.tss_limit(vcpu) == bitmap + kIoBitmapBytes - 1);
    }
    for (uint64_t i = 0; i + 1 < kIoBitmapBytes; ++i)
        REQUIRE(area[bitmap - layout.base() + i] == 0); // every port allowed
    CHECK(area[bitmap - layout.base() + kIoBitmapBytes - 1] == 0xff);
    CHECK(layout.handler_stack_top(0) != layout.handler_stack_top(1));
}

TEST_CASE("user-mode tables: each exception gate leads to a stub that pushes one frame shape and halts",
          "[unit][user-mode]")
{
    const Layout layout(0x100000, 4, 1);
    const std::vector<uint8_t> area = build_system_area(layout);
    for (uint32_t vector = 0; vector < kVectors; ++vector) {
        const uint64_t low = load64(area, layout.idt() - layout.base() + vector * 16);
        const uint64_t high = load64(area, layout.idt() - layout.base() + vector * 16 + 8);
        const uint64_t target = (low & 0xffff) | (((low >> 48) & 0xffff) << 16) | (high << 32);
        CHECK(target == layout.stub(vector));
        CHECK(((low >> 40) & 0xff) == 0x8e); // present, DPL 0, interrupt gate
        const uint8_t *stub = area.data() + (target - layout.base());
        const std::size_t skip = has_error_code(vector) ? 0 : 2;
        if (!has_error_code(vector))
            CHECK((stub[0] == 0x6a && stub[1] == 0x00));
        CHECK((stub[skip] == 0x6a && stub[skip + 1] == vector));
        CHECK(stub[skip + 2] == 0xf4);
    }
    CHECK(has_error_code(14));
    CHECK_FALSE(has_error_code(6));
}
