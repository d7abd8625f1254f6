#include "boot/multiboot.hpp"

#include "boot/elf.hpp"

#include <fmt/format.h>

#include <cstring>

namespace vmm::multiboot {
namespace {

uint32_t load32(std::span<const uint8_t> bytes, std::size_t offset)
{
    uint32_t value;
    std::memcpy(&value, bytes.data() + offset, 4);
    return value;
}

void store32(std::vector<uint8_t> &bytes, std::size_t offset, uint32_t value)
{
    std::memcpy(bytes.data() + offset, &value, 4);
}

void store64(std::vector<uint8_t> &bytes, std::size_t offset, uint64_t value)
{
    std::memcpy(bytes.data() + offset, &value, 8);
}

uint32_t align4(uint32_t value) { return (value + 3u) & ~3u; }

} // namespace

std::optional<Header> find_header(std::span<const uint8_t> file)
{
    const std::size_t limit = std::min<std::size_t>(file.size(), kSearchLimit);
    for (std::size_t offset = 0; offset + 12 <= limit; offset += 4) {
        if (load32(file, offset) != kHeaderMagic)
            continue;
        Header header;
        header.offset = static_cast<uint32_t>(offset);
        header.flags = load32(file, offset + 4);
        const uint32_t checksum = load32(file, offset + 8);
        if (static_cast<uint32_t>(kHeaderMagic + header.flags + checksum) != 0)
            throw ImageFormatError(fmt::format("multiboot header at offset {:#x} has a bad checksum ({:#x})", offset,
                                               checksum));
        const uint32_t required = header.flags & 0xffffu;
        if (required & kFlagVideoMode)
            throw ImageFormatError("the multiboot kernel requires a video mode (header flag 2), which this vmm does not "
                                   "provide");
        if (required & ~(kFlagAlignModules | kFlagMemoryInfo | kFlagVideoMode))
            throw ImageFormatError(fmt::format("the multiboot kernel requires features this vmm does not know "
                                               "(header flags {:#x})",
                                               required));
        if (header.flags & kFlagAoutKludge) {
            if (offset + 32 > file.size())
                throw ImageFormatError("truncated multiboot header: the a.out address fields run past the file's end");
            header.aout = AoutAddresses{load32(file, offset + 12), load32(file, offset + 16), load32(file, offset + 20),
                                        load32(file, offset + 24), load32(file, offset + 28)};
        }
        return header;
    }
    return std::nullopt;
}

std::vector<uint8_t> build_info(uint32_t base, const InfoInput &input)
{
    constexpr uint32_t kMmapEntrySize = 24; // 4-byte size field + 20 bytes
    constexpr uint32_t kModuleSize = 16;
    const uint32_t mmap_offset = kInfoSize;
    const uint32_t mmap_length = kMmapEntrySize;
    const uint32_t mods_offset = mmap_offset + mmap_length;
    const uint32_t strings_offset = mods_offset + static_cast<uint32_t>(input.modules.size()) * kModuleSize;

    std::vector<uint8_t> info(strings_offset, 0);
    auto add_string = [&](const std::string &text) {
        const uint32_t at = static_cast<uint32_t>(info.size());
        info.insert(info.end(), text.begin(), text.end());
        info.push_back(0);
        info.resize(align4(static_cast<uint32_t>(info.size())), 0);
        return base + at;
    };

    const uint64_t kib = input.ram_size / 1024;
    uint32_t flags = (1u << 0) | (1u << 2) | (1u << 6) | (1u << 9); // mem, cmdline, mmap, loader name
    store32(info, kInfoMemLower, static_cast<uint32_t>(std::min<uint64_t>(kib, 640)));
    store32(info, kInfoMemUpper, static_cast<uint32_t>(kib > 1024 ? kib - 1024 : 0));
    store32(info, kInfoCmdline, add_string(input.cmdline));
    store32(info, kInfoLoaderName, add_string(input.loader_name));

    // One memory-map entry: all RAM, contiguous from 0, is available.
    store32(info, mmap_offset, kMmapEntrySize - 4);
    store64(info, mmap_offset + 4, 0);
    store64(info, mmap_offset + 12, input.ram_size);
    store32(info, mmap_offset + 20, 1);
    store32(info, kInfoMmapLength, mmap_length);
    store32(info, kInfoMmapAddr, base + mmap_offset);

    if (!input.modules.empty()) {
        flags |= 1u << 3;
        store32(info, kInfoModsCount, static_cast<uint32_t>(input.modules.size()));
        store32(info, kInfoModsAddr, base + mods_offset);
        for (std::size_t i = 0; i < input.modules.size(); ++i) {
            const Module &module = input.modules[i];
            const uint32_t at = mods_offset + static_cast<uint32_t>(i) * kModuleSize;
            store32(info, at, module.start);
            store32(info, at + 4, module.end);
            const uint32_t cmdline = add_string(module.cmdline);
            store32(info, at + 8, cmdline);
        }
    }
    store32(info, kInfoFlags, flags);
    return info;
}

} // namespace vmm::multiboot
