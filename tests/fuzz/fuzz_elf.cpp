// libFuzzer target: the ELF parser and the multiboot header search on
// arbitrary files, read through a SpanSource as the loader reads a file.
// Malformed input must be an ImageFormatError; what parses must describe
// segments that lie inside the file, and reading them must succeed.
#include "boot/elf.hpp"
#include "boot/multiboot.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::span<const uint8_t> file(data, size);
    try {
        const vmm::SpanSource source(file);
        const vmm::ElfImage image = vmm::parse_elf(source);
        for (const vmm::ElfSegment &s : image.segments) {
            if (s.file_offset > size || s.file_size > size - s.file_offset || s.file_size > s.memory_size)
                std::abort();
            if (vmm::read_bytes(source, s.file_offset, s.file_size).size() != s.file_size)
                std::abort();
        }
    } catch (const vmm::ImageFormatError &) {
    }
    try {
        (void)vmm::multiboot::find_header(file);
    } catch (const vmm::ImageFormatError &) {
    }
    return 0;
}
