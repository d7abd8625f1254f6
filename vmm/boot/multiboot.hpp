// Multiboot v1: finding a kernel's header, and building the information
// structure the kernel receives in EBX.
//
// Specification: "Multiboot Specification version 0.6.96" (GNU GRUB).
// Supported: ELF kernels, and the a.out kludge (header flag 16). Header
// flags 0 (align modules) and 1 (memory information) are honoured; flag 2
// (a video mode) is refused, as the spec requires for an unmet request.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vmm::multiboot {

inline constexpr uint32_t kHeaderMagic = 0x1BADB002;
inline constexpr uint32_t kBootMagic = 0x2BADB002; // in EAX at entry
inline constexpr uint32_t kSearchLimit = 8192;      // the header lies in the first 8 KiB

inline constexpr uint32_t kFlagAlignModules = 1u << 0;
inline constexpr uint32_t kFlagMemoryInfo = 1u << 1;
inline constexpr uint32_t kFlagVideoMode = 1u << 2;
inline constexpr uint32_t kFlagAoutKludge = 1u << 16;

struct AoutAddresses {
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct Header {
    uint32_t offset = 0; // in the file
    uint32_t flags = 0;
    std::optional<AoutAddresses> aout;
};

// Nothing when the file has no header; throws ImageFormatError for a header
// with a bad checksum, truncated fields, or a request we cannot meet.
std::optional<Header> find_header(std::span<const uint8_t> file);

struct Module {
    uint32_t start = 0, end = 0; // [start, end)
    std::string cmdline;
};

struct InfoInput {
    uint64_t ram_size = 0; // contiguous RAM from 0
    std::string cmdline;
    std::vector<Module> modules;
    std::string loader_name;
};

// Where the information block goes when it fits, as QEMU places it
// (hw/i386/multiboot.c, MULTIBOOT_STRUCT_ADDR): above the 0x8000 page that
// SMP guests use for their AP trampoline, away from 0 (the real-mode IVT and
// BIOS data area), and wholly below 640 KiB (kLowInfoLimit).
inline constexpr uint32_t kLowInfoAddress = 0x9000;
inline constexpr uint32_t kLowInfoLimit = 0xa0000;

// The info block for `base`: the structure, then its memory map, module list
// and strings, each pointer an absolute guest-physical address.
std::vector<uint8_t> build_info(uint32_t base, const InfoInput &input);
// Offsets of fields in the structure (for tests and documentation).
inline constexpr uint32_t kInfoFlags = 0, kInfoMemLower = 4, kInfoMemUpper = 8, kInfoCmdline = 16, kInfoModsCount = 20,
                          kInfoModsAddr = 24, kInfoMmapLength = 44, kInfoMmapAddr = 48, kInfoLoaderName = 64,
                          kInfoSize = 120;

} // namespace vmm::multiboot
