// What a platform device (fw_cfg, the CMOS) may learn about its machine
// (ABI 1.5: machine_info, machine_blob): sizes and counts, and a few named
// byte strings. Kept free of the core's classes; the core fills it.
#pragma once

#include <vmm/plugin_abi.h>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace vmm {

// A byte string assembled from pieces that stay where they are (an image's
// loaded segments, which the machine's plan keeps); the gaps between them,
// and the bytes past the last, read as zeros (an ELF's bss). Copying out a
// part never allocates the whole: a sparse kernel image costs nothing here.
struct MachineBlob {
    struct Piece {
        uint64_t offset = 0;
        std::span<const uint8_t> bytes;
    };
    uint64_t size = 0;
    std::vector<Piece> pieces; // sorted, not overlapping
    std::string owned;         // or the blob's bytes themselves (short ones)

    static MachineBlob text(std::string bytes);
    // False (nothing copied) unless [offset, offset + length) lies inside.
    bool copy(uint64_t offset, void *buffer, uint64_t length) const;
};

struct MachineFacts {
    vmm_machine_info info{}; // struct_size set to sizeof
    std::map<std::string, MachineBlob, std::less<>> blobs;

    MachineFacts() { info.struct_size = sizeof info; }
};

} // namespace vmm
