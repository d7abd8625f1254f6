// Reading guest images from disk and deciding where their bytes go.
//
// Everything is checked before the VM exists: a missing, empty, truncated
// or malformed file, a segment outside guest RAM, and an image that does not
// fit its region are input errors located at the image's entry in the
// machine file.
#pragma once

#include "boot/elf.hpp"
#include "config/machine_spec.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vmm {

// One contiguous run of guest-physical memory to fill: `bytes`, then
// `zero_fill` zero bytes (an ELF segment's bss).
struct ImageChunk {
    uint64_t address = 0;
    std::vector<uint8_t> bytes;
    uint64_t zero_fill = 0;
    std::string what; // "image hello.bin", "segment 1 of kernel.elf", ...

    uint64_t size() const { return bytes.size() + zero_fill; }
    uint64_t end() const { return address + size(); }
};

struct LoadedModule {
    const ModuleSpec *spec = nullptr;
    std::vector<uint8_t> bytes;
};

struct LoadedImage {
    const ImageSpec *spec = nullptr;
    ImageType type = ImageType::ram;
    ImageFormat format = ImageFormat::flat; // never `automatic` once loaded
    std::vector<ImageChunk> chunks;         // RAM images: where the bytes go
    std::optional<uint64_t> entry;          // guest-physical
    // ROM only: the region the image occupies (its size rounded to pages),
    // and what goes in it.
    uint64_t rom_address = 0;
    uint64_t rom_size = 0;
    ImageChunk rom_contents;
    // Multiboot only: modules to place after the kernel.
    std::vector<LoadedModule> modules;
    bool align_modules = false;
};

// Opens an image or module file to be read piece by piece (pread): an ELF's
// headers, then only its PT_LOAD ranges once they are checked. Throws a
// std::exception saying why it cannot.
using ImageOpener = std::function<std::unique_ptr<ByteSource>(const std::filesystem::path &)>;
std::unique_ptr<ByteSource> open_image_file(const std::filesystem::path &file);

// Throws InputErrors listing every image that failed. `open` reads the
// files (tests count the bytes read).
std::vector<LoadedImage> load_images(const MachineSpec &spec, const ImageOpener &open = open_image_file);

} // namespace vmm
