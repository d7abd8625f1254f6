// Reading guest images from disk and deciding where their bytes go.
//
// Everything is checked before the VM exists: a missing, empty or oversized
// file, and an image that does not fit its region, are input errors located
// at the image's entry in the machine file.
#pragma once

#include "config/machine_spec.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace vmm {

// One contiguous run of bytes to place in guest memory.
struct ImageChunk {
    uint64_t address = 0;
    std::vector<uint8_t> bytes;
};

struct LoadedImage {
    const ImageSpec *spec = nullptr;
    ImageType type = ImageType::ram;
    std::vector<ImageChunk> chunks;
    std::optional<uint64_t> entry;
    // ROM only: the region the image occupies (its size rounded to pages).
    uint64_t rom_address = 0;
    uint64_t rom_size = 0;
};

// Throws InputErrors listing every image that failed.
std::vector<LoadedImage> load_images(const MachineSpec &spec);

} // namespace vmm
