#include "boot/elf.hpp"

#include <elf.h>

#include <fmt/format.h>

#include <cstring>

namespace vmm {
namespace {

constexpr uint32_t kMaxSegments = 1024;

template <typename T>
T read_struct(const ByteSource &file, uint64_t offset, const char *what)
{
    if (offset > file.size() || sizeof(T) > file.size() - offset)
        throw ImageFormatError(fmt::format("truncated ELF file: {} at offset {:#x} ({} bytes) runs past its end ({} bytes)",
                                           what, offset, sizeof(T), file.size()));
    T value;
    file.read(offset, std::span<uint8_t>(reinterpret_cast<uint8_t *>(&value), sizeof(T)));
    return value;
}

template <typename Ehdr, typename Phdr>
ElfImage parse(const ByteSource &file, bool is_64bit)
{
    const auto header = read_struct<Ehdr>(file, 0, "the ELF header");
    ElfImage image;
    image.is_64bit = is_64bit;
    if (header.e_type != ET_EXEC)
        throw ImageFormatError(fmt::format("ELF type {} is not an executable (ET_EXEC)", header.e_type));
    const uint16_t expected_machine = is_64bit ? EM_X86_64 : EM_386;
    if (header.e_machine != expected_machine)
        throw ImageFormatError(fmt::format("ELF machine {} is not {}", header.e_machine,
                                           is_64bit ? "x86-64 (62)" : "i386 (3)"));
    if (header.e_phnum == 0)
        throw ImageFormatError("ELF file has no program headers");
    if (header.e_phentsize != sizeof(Phdr))
        throw ImageFormatError(fmt::format("ELF program header size {} is not {}", header.e_phentsize, sizeof(Phdr)));
    if (header.e_phnum > kMaxSegments)
        throw ImageFormatError(fmt::format("ELF file has {} program headers, more than {}", header.e_phnum, kMaxSegments));
    const uint64_t table_size = uint64_t{header.e_phnum} * sizeof(Phdr);
    if (header.e_phoff > file.size() || table_size > file.size() - header.e_phoff)
        throw ImageFormatError(fmt::format("truncated ELF file: program headers at {:#x} ({} bytes) run past its end "
                                           "({} bytes)",
                                           uint64_t{header.e_phoff}, table_size, file.size()));
    // The whole table at once: at most 1024 entries, checked above.
    const std::vector<uint8_t> table = read_bytes(file, header.e_phoff, table_size);

    for (uint32_t i = 0; i < header.e_phnum; ++i) {
        Phdr ph;
        std::memcpy(&ph, table.data() + uint64_t{i} * sizeof(Phdr), sizeof(Phdr));
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        ElfSegment segment;
        segment.physical_address = ph.p_paddr;
        segment.virtual_address = ph.p_vaddr;
        segment.file_offset = ph.p_offset;
        segment.file_size = ph.p_filesz;
        segment.memory_size = ph.p_memsz;
        if (segment.file_size > segment.memory_size)
            throw ImageFormatError(fmt::format("segment {} has more file bytes ({:#x}) than memory ({:#x})", i,
                                               segment.file_size, segment.memory_size));
        if (segment.file_offset > file.size() || segment.file_size > file.size() - segment.file_offset)
            throw ImageFormatError(fmt::format("truncated ELF file: segment {} ({:#x} bytes at offset {:#x}) runs past "
                                               "its end ({} bytes)",
                                               i, segment.file_size, segment.file_offset, file.size()));
        if (segment.memory_size - 1 > ~uint64_t{0} - segment.physical_address ||
            segment.memory_size - 1 > ~uint64_t{0} - segment.virtual_address)
            throw ImageFormatError(fmt::format("segment {} at {:#x} ({:#x} bytes) wraps around the address space", i,
                                               segment.physical_address, segment.memory_size));
        image.segments.push_back(segment);
    }
    if (image.segments.empty())
        throw ImageFormatError("ELF file has no loadable (PT_LOAD) segment");

    image.entry = header.e_entry;
    bool entry_found = false;
    for (const ElfSegment &segment : image.segments) {
        if (image.entry >= segment.virtual_address && image.entry - segment.virtual_address < segment.memory_size) {
            image.entry_physical = image.entry - segment.virtual_address + segment.physical_address;
            entry_found = true;
            break;
        }
    }
    if (!entry_found)
        throw ImageFormatError(fmt::format("entry point {:#x} lies outside every loadable segment", image.entry));
    return image;
}

} // namespace

void SpanSource::read(uint64_t offset, std::span<uint8_t> out) const
{
    if (offset > bytes_.size() || out.size() > bytes_.size() - offset)
        throw ImageFormatError(fmt::format("cannot read {} bytes at offset {:#x}: the file has {} bytes", out.size(),
                                           offset, bytes_.size()));
    if (!out.empty()) // an empty span may hold a null pointer, which memcpy must not get
        std::memcpy(out.data(), bytes_.data() + offset, out.size());
}

std::vector<uint8_t> read_bytes(const ByteSource &source, uint64_t offset, uint64_t size)
{
    std::vector<uint8_t> bytes(size);
    source.read(offset, bytes);
    return bytes;
}

bool has_elf_magic(std::span<const uint8_t> file)
{
    return file.size() >= SELFMAG && std::memcmp(file.data(), ELFMAG, SELFMAG) == 0;
}

ElfImage parse_elf(const ByteSource &file)
{
    if (file.size() < EI_NIDENT)
        throw ImageFormatError(fmt::format("truncated ELF file: {} bytes, shorter than the ELF identification", file.size()));
    const std::vector<uint8_t> ident = read_bytes(file, 0, EI_NIDENT);
    if (!has_elf_magic(ident))
        throw ImageFormatError("not an ELF file (no 0x7f 'ELF' magic)");
    if (ident[EI_DATA] != ELFDATA2LSB)
        throw ImageFormatError("ELF file is not little-endian");
    if (ident[EI_VERSION] != EV_CURRENT)
        throw ImageFormatError(fmt::format("ELF version {} is not 1", ident[EI_VERSION]));
    switch (ident[EI_CLASS]) {
    case ELFCLASS32: return parse<Elf32_Ehdr, Elf32_Phdr>(file, false);
    case ELFCLASS64: return parse<Elf64_Ehdr, Elf64_Phdr>(file, true);
    default: throw ImageFormatError(fmt::format("ELF class {} is neither 32- nor 64-bit", ident[EI_CLASS]));
    }
}

ElfImage parse_elf(std::span<const uint8_t> file) { return parse_elf(SpanSource(file)); }

} // namespace vmm
