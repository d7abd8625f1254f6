// Parsing ELF32/ELF64 executables for x86: the PT_LOAD segments and entry.
//
// The file is untrusted: every offset, size and count is checked against
// the file and for overflow before use. A malformed file throws
// ImageFormatError with a message saying what is wrong and where.
//
// The parser reads only the identification, the ELF header and the program
// headers (at most 1024 of them), through a ByteSource: a file much larger
// than what it loads (debug information) is not read whole to be parsed.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <vector>

namespace vmm {

class ImageFormatError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Where a file's bytes come from: a buffer, or a file read piece by piece.
class ByteSource {
public:
    virtual ~ByteSource() = default;
    virtual uint64_t size() const = 0;
    // Copies out.size() bytes from `offset`; the caller keeps within size().
    // Throws ImageFormatError when they cannot be read.
    virtual void read(uint64_t offset, std::span<uint8_t> out) const = 0;
};

// A buffer already in memory (tests, the fuzzer).
class SpanSource final : public ByteSource {
public:
    explicit SpanSource(std::span<const uint8_t> bytes) : bytes_(bytes) {}
    uint64_t size() const override { return bytes_.size(); }
    void read(uint64_t offset, std::span<uint8_t> out) const override;

private:
    std::span<const uint8_t> bytes_;
};

// `size` bytes from `offset` of `source` (within its size).
std::vector<uint8_t> read_bytes(const ByteSource &source, uint64_t offset, uint64_t size);

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
ElfImage parse_elf(const ByteSource &file);
ElfImage parse_elf(std::span<const uint8_t> file);

} // namespace vmm
