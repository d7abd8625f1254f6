// How a machine boots: its CPU mode and entry, where the VMM's own tables
// and boot information go in RAM, and every chunk of RAM to fill before the
// first vCPU runs. No two chunks may overlap; all lie inside RAM.
#pragma once

#include "boot/image_loader.hpp"
#include "bus/address_space.hpp"
#include "config/machine_spec.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace vmm {

struct BootLayout {
    CpuMode mode = CpuMode::real;
    std::optional<uint64_t> entry;          // absent only in reset mode
    uint64_t stack_top = 0;                 // rsp of vCPU 0
    std::optional<uint64_t> system_area;    // GDT and page tables (protected, long)
    uint64_t mapped_gib = 0;                // long mode identity map
    std::optional<uint32_t> multiboot_info; // EBX for a multiboot kernel
    std::vector<ImageChunk> ram_chunks;     // sorted by address
};

// Throws InputErrors.
BootLayout plan_boot(const MachineSpec &spec, const std::vector<LoadedImage> &images, const AddressSpace &mmio);

} // namespace vmm
