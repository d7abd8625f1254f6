#include "bus/address_space.hpp"
#include "support/errors.hpp"
#include "support/ranges.hpp"

#include <catch2/catch.hpp>

using namespace vmm;

namespace {

Mapping range(const char *owner, uint64_t base, uint64_t size, uint32_t device = 0, uint32_t region = 0)
{
    Mapping m;
    m.owner = owner;
    m.base = base;
    m.size = size;
    m.device = device;
    m.region = region;
    m.where = SourceLocation{"m.toml", 7, 9};
    return m;
}

std::string insert_error(AddressSpace &space, Mapping m)
{
    try {
        space.insert(std::move(m));
    } catch (const InputError &e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("a device gets the offset inside its range, never the address", "[bus]")
{
    AddressSpace pio(Space::pio);
    pio.insert(range("com1", 0x3f8, 8, 3, 1));
    pio.insert(range("exit", 0xf4, 4, 4, 0));
    pio.freeze();

    auto hit = pio.find(0x3fd, 1);
    REQUIRE(hit);
    CHECK(hit->offset == 5);
    CHECK(hit->mapping->owner == "com1");
    CHECK(hit->mapping->device == 3);
    CHECK(hit->mapping->region == 1);

    hit = pio.find(0xf4, 4);
    REQUIRE(hit);
    CHECK(hit->offset == 0);
    CHECK(hit->mapping->owner == "exit");
}

TEST_CASE("addresses outside every range, and accesses running past one, are unhandled", "[bus]")
{
    AddressSpace mmio(Space::mmio);
    mmio.insert(range("dev", 0x1000, 0x10));
    mmio.freeze();
    CHECK_FALSE(mmio.find(0xfff, 1));        // just before
    CHECK_FALSE(mmio.find(0x1010, 1));       // just after
    CHECK(mmio.find(0x100f, 1));             // last byte
    CHECK_FALSE(mmio.find(0x100f, 2));       // straddles the end
    CHECK_FALSE(mmio.find(0x100c, 8));       // starts inside, runs past
    CHECK(mmio.find(0x1008, 8));             // ends exactly at the end
    CHECK_FALSE(mmio.find(0, 1));            // below every range
    CHECK_FALSE(mmio.find(~0ull, 8));        // top of the space
}

TEST_CASE("empty ranges are refused", "[bus]")
{
    AddressSpace pio(Space::pio);
    CHECK(insert_error(pio, range("dev", 0x60, 0)) == "m.toml:7:9: device 'dev': pio range at 0x60 is empty (size 0)");
}

TEST_CASE("ranges running past the end of the space are refused", "[bus]")
{
    AddressSpace pio(Space::pio);
    CHECK(insert_error(pio, range("dev", 0xfff0, 0x20)) ==
          "m.toml:7:9: device 'dev': pio range at 0xfff0 with size 0x20 runs past the end of the pio space (0xffff)");
    CHECK(insert_error(pio, range("dev", 0x10000, 1)).find("runs past the end of the pio space") != std::string::npos);
    CHECK(insert_error(pio, range("dev", 0xffff, 1)).empty()); // the last port is fine

    AddressSpace mmio(Space::mmio);
    CHECK(insert_error(mmio, range("dev", ~0ull - 3, 8)).find("runs past the end of the mmio space") !=
          std::string::npos);
    CHECK(insert_error(mmio, range("top", ~0ull - 7, 8)).empty()); // up to the last byte
    mmio.freeze();
    auto hit = mmio.find(~0ull, 1);
    REQUIRE(hit);
    CHECK(hit->offset == 7);
}

TEST_CASE("overlapping ranges are refused, naming both devices", "[bus]")
{
    AddressSpace pio(Space::pio);
    Mapping first = range("com1", 0x3f8, 8);
    first.where = SourceLocation{"m.toml", 3, 1};
    pio.insert(first);

    SECTION("same base")
    {
        CHECK(insert_error(pio, range("com2", 0x3f8, 8)) ==
              "m.toml:7:9: device 'com2' pio 0x3f8-0x3ff overlaps device 'com1' pio 0x3f8-0x3ff (declared at "
              "m.toml:3:1)");
    }
    SECTION("starting inside")
    {
        CHECK(insert_error(pio, range("other", 0x3ff, 2)).find("overlaps device 'com1'") != std::string::npos);
    }
    SECTION("ending inside")
    {
        CHECK(insert_error(pio, range("other", 0x3f0, 9)).find("overlaps device 'com1'") != std::string::npos);
    }
    SECTION("covering it")
    {
        CHECK(insert_error(pio, range("other", 0x300, 0x200)).find("overlaps device 'com1'") != std::string::npos);
    }
    SECTION("adjacent ranges are fine")
    {
        CHECK(insert_error(pio, range("below", 0x3f0, 8)).empty());
        CHECK(insert_error(pio, range("above", 0x400, 8)).empty());
    }
}

TEST_CASE("lookup stays correct with many ranges", "[bus]")
{
    AddressSpace mmio(Space::mmio);
    // 1000 ranges of 16 bytes with 16-byte gaps, inserted out of order.
    for (uint64_t i = 0; i < 1000; ++i) {
        const uint64_t n = (i * 7919) % 1000;
        mmio.insert(range("d", 0x100000 + n * 32, 16, static_cast<uint32_t>(n)));
    }
    mmio.freeze();
    REQUIRE(mmio.mappings().size() == 1000);
    for (uint64_t n = 0; n < 1000; ++n) {
        const uint64_t base = 0x100000 + n * 32;
        auto inside = mmio.find(base + 15, 1);
        REQUIRE(inside);
        CHECK(inside->mapping->device == n);
        CHECK(inside->offset == 15);
        CHECK_FALSE(mmio.find(base + 16, 1)); // in the gap
    }
}

TEST_CASE("lies_within: a range inside another, at the edges and where sums would overflow", "[bus]")
{
    constexpr uint64_t max = ~uint64_t{0};
    CHECK(vmm::lies_within(0x1000, 0x10, 0x1000, 0x10));     // exactly the range
    CHECK(vmm::lies_within(0x100f, 1, 0x1000, 0x10));        // its last byte
    CHECK(vmm::lies_within(0x1008, 0, 0x1000, 0x10));        // empty, starting inside
    CHECK_FALSE(vmm::lies_within(0xfff, 1, 0x1000, 0x10));   // before it
    CHECK_FALSE(vmm::lies_within(0x1010, 0, 0x1000, 0x10));  // empty, just past it
    CHECK_FALSE(vmm::lies_within(0x100f, 2, 0x1000, 0x10));  // runs past its end
    CHECK(vmm::lies_within(max, 1, max, 1));
    CHECK_FALSE(vmm::lies_within(max, 2, max, 1));           // address + length wraps
    CHECK_FALSE(vmm::lies_within(0x10, max, 0, max));        // length + offset wraps
    CHECK(vmm::lies_within(1, max - 1, 0, max));
    CHECK_FALSE(vmm::lies_within(0, 1, 0, 0));               // nothing is inside an empty range
}
