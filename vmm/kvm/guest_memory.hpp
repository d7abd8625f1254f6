// Guest-physical memory: RAM and read-only ROM regions backed by host mmaps.
//
// Every access on behalf of a device or a loader goes through here and is
// checked: a range is usable only when it lies wholly inside one region.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace vmm {

class Vm;

struct MemoryRegion {
    std::string name;
    uint64_t guest_address = 0;
    uint64_t size = 0;
    bool read_only = false;  // ROM: the guest cannot write it
    uint8_t *host = nullptr; // owned by GuestMemory
    int fd = -1;             // the memfd behind it, shared with isolated devices' processes

    uint64_t end() const { return guest_address + size; }
};

class GuestMemory {
public:
    GuestMemory() = default;
    ~GuestMemory();
    GuestMemory(const GuestMemory &) = delete;
    GuestMemory &operator=(const GuestMemory &) = delete;

    // Page-aligned address and size; must not overlap another region.
    MemoryRegion &add_ram(std::string name, uint64_t guest_address, uint64_t size);
    // A ROM of `size` bytes holding `contents` (the rest reads as zero).
    MemoryRegion &add_rom(std::string name, uint64_t guest_address, uint64_t size,
                          std::span<const uint8_t> contents);

    const std::vector<std::unique_ptr<MemoryRegion>> &regions() const { return regions_; }
    // Size of all RAM, for boot information.
    uint64_t ram_size() const;

    // The region holding all of [address, address + size), or nullptr.
    const MemoryRegion *find(uint64_t address, uint64_t size) const;
    // Host pointer to [address, address + size) in RAM (or ROM when
    // `allow_rom`), or nullptr.
    uint8_t *host_pointer(uint64_t address, uint64_t size, bool allow_rom = false) const;

    bool read(uint64_t address, void *buffer, uint64_t size) const;   // RAM or ROM
    bool write(uint64_t address, const void *buffer, uint64_t size);  // RAM only
    // Loaders may write ROM contents before the VM starts.
    bool load(uint64_t address, std::span<const uint8_t> bytes);

    // Give every region to KVM, one slot each.
    void register_with(Vm &vm) const;

private:
    MemoryRegion &add(std::string name, uint64_t guest_address, uint64_t size, bool read_only);
    std::vector<std::unique_ptr<MemoryRegion>> regions_;
};

} // namespace vmm
