// The ELF loader takes untrusted files: each malformation gets its message.
#include "boot/elf.hpp"

#include "elf_builder.hpp"

#include <catch2/catch.hpp>

using namespace vmm;
using namespace vmm::test;

namespace {

std::string elf_error(const std::vector<uint8_t> &file)
{
    try {
        parse_elf(file);
    } catch (const ImageFormatError &e) {
        return e.what();
    }
    return "";
}

std::vector<uint8_t> good() { return make_elf64({{0x1000, {0x90, 0x90, 0xf4}, 0x2000}}, 0x1002); }

} // namespace

TEST_CASE("a well-formed ELF64 gives its segments and entry", "[elf]")
{
    const ElfImage image = parse_elf(make_elf64({{0x1000, {1, 2, 3}, 0x2000}, {0x8000, {4}, 0, 0xffff800000008000}}, 0x1002));
    CHECK(image.is_64bit);
    REQUIRE(image.segments.size() == 2);
    CHECK(image.segments[0].physical_address == 0x1000);
    CHECK(image.segments[0].file_size == 3);
    CHECK(image.segments[0].memory_size == 0x2000);
    CHECK(image.entry_physical == 0x1002);
    CHECK(image.segments[1].virtual_address == 0xffff800000008000);
}

TEST_CASE("an entry in a higher-half segment is translated to its physical address", "[elf]")
{
    const ElfImage image = parse_elf(make_elf64({{0x200000, {0xf4}, 0, 0xffffffff80200000}}, 0xffffffff80200000));
    CHECK(image.entry == 0xffffffff80200000);
    CHECK(image.entry_physical == 0x200000);
}

TEST_CASE("malformed ELF files are refused with what is wrong", "[elf]")
{
    std::vector<uint8_t> file;

    CHECK(elf_error({0x7f, 'E', 'L'}) == "truncated ELF file: 3 bytes, shorter than the ELF identification");

    file = good();
    file.resize(40);
    CHECK(elf_error(file) == "truncated ELF file: the ELF header at offset 0x0 (64 bytes) runs past its end (40 bytes)");

    file = good();
    file.resize(sizeof(Elf64_Ehdr) + 10);
    CHECK(elf_error(file) == "truncated ELF file: program headers at 0x40 (56 bytes) run past its end (74 bytes)");

    file = good();
    file.pop_back();
    CHECK(elf_error(file) == "truncated ELF file: segment 0 (0x3 bytes at offset 0x78) runs past its end (122 bytes)");

    file = good();
    file[0] = 'X';
    CHECK(elf_error(file) == "not an ELF file (no 0x7f 'ELF' magic)");

    file = good();
    file[EI_CLASS] = 7;
    CHECK(elf_error(file) == "ELF class 7 is neither 32- nor 64-bit");

    file = good();
    file[EI_DATA] = ELFDATA2MSB;
    CHECK(elf_error(file) == "ELF file is not little-endian");

    file = good();
    header64(file)->e_type = ET_DYN;
    CHECK(elf_error(file) == "ELF type 3 is not an executable (ET_EXEC)");

    file = good();
    header64(file)->e_machine = EM_AARCH64;
    CHECK(elf_error(file) == "ELF machine 183 is not x86-64 (62)");

    file = good();
    header64(file)->e_phentsize = 40;
    CHECK(elf_error(file) == "ELF program header size 40 is not 56");

    file = good();
    header64(file)->e_phnum = 0;
    CHECK(elf_error(file) == "ELF file has no program headers");

    file = good();
    header64(file)->e_phnum = 5000;
    CHECK(elf_error(file) == "ELF file has 5000 program headers, more than 1024");

    file = good();
    phdr64(file, 0)->p_type = PT_NOTE;
    CHECK(elf_error(file) == "ELF file has no loadable (PT_LOAD) segment");

    file = good();
    phdr64(file, 0)->p_memsz = 1;
    CHECK(elf_error(file) == "segment 0 has more file bytes (0x3) than memory (0x1)");

    file = good();
    phdr64(file, 0)->p_offset = ~0ull - 1;
    CHECK(elf_error(file) == "truncated ELF file: segment 0 (0x3 bytes at offset 0xfffffffffffffffe) runs past its end "
                             "(123 bytes)");

    file = good();
    phdr64(file, 0)->p_paddr = ~0ull - 0x10;
    CHECK(elf_error(file) == "segment 0 at 0xffffffffffffffef (0x2000 bytes) wraps around the address space");

    file = good();
    header64(file)->e_entry = 0x5000;
    CHECK(elf_error(file) == "entry point 0x5000 lies outside every loadable segment");
}

TEST_CASE("every truncation of a valid ELF is refused cleanly", "[elf]")
{
    const std::vector<uint8_t> file = good();
    for (std::size_t size = 0; size < file.size(); ++size) {
        INFO("size " << size);
        const std::vector<uint8_t> cut(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(size));
        CHECK_FALSE(elf_error(cut).empty());
    }
    CHECK(elf_error(file).empty());
}
