// Guest memory: every host-side access is checked against one region.
#include "kvm/guest_memory.hpp"
#include "support/errors.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstring>

using namespace vmm;

TEST_CASE("accesses must lie wholly inside one region", "[memory]")
{
    GuestMemory memory;
    memory.add_ram("ram", 0, 0x2000);
    const std::array<uint8_t, 4> rom_bytes{1, 2, 3, 4};
    memory.add_rom("rom", 0x10000, 0x1000, rom_bytes);

    uint32_t value = 0xdeadbeef;
    CHECK(memory.write(0x1ffc, &value, 4));      // last four bytes of RAM
    CHECK_FALSE(memory.write(0x1ffd, &value, 4)); // runs one byte past
    CHECK_FALSE(memory.write(0x2000, &value, 1)); // just past
    CHECK_FALSE(memory.write(~0ull - 1, &value, 4)); // wraps around

    uint32_t read = 0;
    CHECK(memory.read(0x1ffc, &read, 4));
    CHECK(read == 0xdeadbeef);
    CHECK_FALSE(memory.read(0x1fff, &read, 2));

    // ROM: readable, not writable by devices, loadable before boot.
    CHECK(memory.read(0x10000, &read, 4));
    CHECK(read == 0x04030201);
    CHECK_FALSE(memory.write(0x10000, &value, 4));
    CHECK(memory.host_pointer(0x10000, 4) == nullptr);
    CHECK(memory.host_pointer(0x10000, 4, true) != nullptr);

    // A range spanning RAM and the gap after it belongs to no region.
    CHECK(memory.find(0x1000, 0x2000) == nullptr);
    CHECK(memory.ram_size() == 0x2000);
}

TEST_CASE("zero-length accesses are valid inside a region and touch nothing", "[memory]")
{
    GuestMemory memory;
    memory.add_ram("ram", 0, 0x1000);
    CHECK(memory.read(0x10, nullptr, 0));
    CHECK(memory.write(0x10, nullptr, 0));
    CHECK(memory.load(0x10, {}));
    CHECK_FALSE(memory.read(0x5000, nullptr, 0));
    memory.add_rom("empty-rom", 0x8000, 0x1000, {});
    uint8_t byte = 1;
    CHECK(memory.read(0x8000, &byte, 1));
    CHECK(byte == 0);
}

TEST_CASE("regions must be page-aligned and must not overlap", "[memory]")
{
    GuestMemory memory;
    memory.add_ram("ram", 0, 0x2000);
    CHECK_THROWS_WITH(memory.add_ram("again", 0x1000, 0x1000), "memory region 'again' overlaps 'ram'");
    CHECK_THROWS_WITH(memory.add_ram("odd", 0x3001, 0x1000),
                      "memory region 'odd' at 0x3001 size 0x1000 is not page-aligned");
    CHECK_THROWS_WITH(memory.add_ram("empty", 0x4000, 0), "memory region 'empty' at 0x4000 size 0x0 is not page-aligned");
    CHECK_THROWS_WITH(memory.add_ram("wrap", ~0ull - 0xfff, 0x2000), "memory region 'wrap' wraps around the address space");
}
