// Multiboot v1: finding and checking the header, and the info structure.
#include "boot/elf.hpp"
#include "boot/multiboot.hpp"

#include <catch2/catch.hpp>

#include <cstring>

using namespace vmm;
namespace mb = vmm::multiboot;

namespace {

std::vector<uint8_t> with_header(uint32_t offset, uint32_t flags, uint32_t checksum_adjust = 0)
{
    std::vector<uint8_t> file(8192 + 64, 0);
    const uint32_t words[3] = {mb::kHeaderMagic, flags, static_cast<uint32_t>(0u - mb::kHeaderMagic - flags) + checksum_adjust};
    std::memcpy(file.data() + offset, words, sizeof words);
    return file;
}

std::string header_error(const std::vector<uint8_t> &file)
{
    try {
        mb::find_header(file);
    } catch (const ImageFormatError &e) {
        return e.what();
    }
    return "";
}

uint32_t u32(const std::vector<uint8_t> &bytes, uint32_t offset)
{
    uint32_t value;
    std::memcpy(&value, bytes.data() + offset, 4);
    return value;
}

} // namespace

TEST_CASE("the header is found 4-byte aligned in the first 8 KiB", "[multiboot]")
{
    auto header = mb::find_header(with_header(0x40, 0x3));
    REQUIRE(header);
    CHECK(header->offset == 0x40);
    CHECK(header->flags == 0x3);
    CHECK_FALSE(header->aout);
    CHECK_FALSE(mb::find_header(with_header(0x42, 0x3)));   // misaligned: not a header
    CHECK_FALSE(mb::find_header(with_header(8192, 0x3)));   // beyond the search limit
    CHECK_FALSE(mb::find_header(std::vector<uint8_t>(100, 0)));
}

TEST_CASE("bad multiboot headers are refused with what is wrong", "[multiboot]")
{
    CHECK(header_error(with_header(0x40, 0x3, 1)) == "multiboot header at offset 0x40 has a bad checksum (0xe4524ffc)");
    CHECK(header_error(with_header(0, 0x4)) ==
          "the multiboot kernel requires a video mode (header flag 2), which this vmm does not provide");
    CHECK(header_error(with_header(0, 0x8)) ==
          "the multiboot kernel requires features this vmm does not know (header flags 0x8)");
    std::vector<uint8_t> truncated = with_header(0, mb::kFlagAoutKludge);
    truncated.resize(20);
    CHECK(header_error(truncated) == "truncated multiboot header: the a.out address fields run past the file's end");
}

TEST_CASE("the info structure carries memory sizes, command line, modules and a memory map", "[multiboot]")
{
    mb::InfoInput input;
    input.ram_size = 4 << 20;
    input.cmdline = "console=ttyS0";
    input.loader_name = "vmm";
    input.modules = {{0x200000, 0x200010, "initrd"}};
    const uint32_t base = 0x9000;
    const std::vector<uint8_t> info = mb::build_info(base, input);

    CHECK((u32(info, mb::kInfoFlags) & 0x24d) == 0x24d); // mem, cmdline, mods, mmap, loader name
    CHECK(u32(info, mb::kInfoMemLower) == 640);
    CHECK(u32(info, mb::kInfoMemUpper) == 3072);
    const uint32_t cmdline = u32(info, mb::kInfoCmdline) - base;
    CHECK(std::string(reinterpret_cast<const char *>(info.data() + cmdline)) == "console=ttyS0");
    CHECK(u32(info, mb::kInfoModsCount) == 1);
    const uint32_t mods = u32(info, mb::kInfoModsAddr) - base;
    CHECK(u32(info, mods) == 0x200000);
    CHECK(u32(info, mods + 4) == 0x200010);
    CHECK(std::string(reinterpret_cast<const char *>(info.data() + u32(info, mods + 8) - base)) == "initrd");
    const uint32_t mmap = u32(info, mb::kInfoMmapAddr) - base;
    CHECK(u32(info, mb::kInfoMmapLength) == 24);
    CHECK(u32(info, mmap) == 20);       // entry size, excluding the size field
    CHECK(u32(info, mmap + 12) == 4u << 20); // length (low half)
    CHECK(u32(info, mmap + 20) == 1);   // available

    mb::InfoInput small;
    small.ram_size = 512 * 1024;
    const std::vector<uint8_t> tiny = mb::build_info(0x1000, small);
    CHECK(u32(tiny, mb::kInfoMemLower) == 512);
    CHECK(u32(tiny, mb::kInfoMemUpper) == 0);
    CHECK((u32(tiny, mb::kInfoFlags) & (1u << 3)) == 0); // no modules
}
