// Parsing ELF32/ELF64 executables for x86: the PT_LOAD segments and entry.
//
// The file is untrusted: every offset, size and count is checked against
// the file and for overflow before use. A malformed file throws
// ImageFormatError with a message saying what is wrong and where.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

namespace vmm {

class ImageFormatError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct ElfSegment {
    uint64_t physical_address = 0;
    uint64_t virtual_address = 0;
    uint64_t file_offset = 0;
    uint64_t file_size = 0;
    uint64_t memory_size = 0; // >= file_size; the rest is zero (bss)
};

struct ElfImage {
    bool is_64bit = false;
    uint64_t entry = 0;          // as in the header (virtual)
    uint64_t entry_physical = 0; // translated through the segment holding it
    std::vector<ElfSegment> segments;
};

bool has_elf_magic(std::span<const uint8_t> file);
ElfImage parse_elf(std::span<const uint8_t> file);

} // namespace vmm
