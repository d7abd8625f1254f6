// One guest address space (port I/O or MMIO) as a map of device ranges.
//
// Built once, while the machine is assembled: insert() rejects empty,
// overflowing and overlapping ranges, naming both devices, and keeps the
// ranges in a vector sorted by base. find() is a binary search: the last
// range whose base is <= the address, if the whole access lies inside it.
// The device is given the offset inside its range, never the address.
// freeze() ends the building: no range may be added while vCPUs run.
#pragma once

#include "support/source_location.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vmm {

enum class Space { pio, mmio };
const char *space_name(Space space);

struct Mapping {
    uint64_t base = 0;
    uint64_t size = 0;
    uint32_t device = 0;  // the owner's index in the machine's device table
    uint32_t region = 0;  // this range's index among the owner's regions
    std::string owner;    // the owner's instance name, for messages
    SourceLocation where; // where the range was declared

    uint64_t last() const { return base + (size - 1); }
};

class AddressSpace {
public:
    struct Hit {
        const Mapping *mapping;
        uint64_t offset;
    };

    explicit AddressSpace(Space space);

    Space space() const { return space_; }
    // The highest address this space has (0xffff for ports).
    uint64_t max_address() const;

    // Throws InputError (at m.where) for an empty, overflowing, out-of-space
    // or overlapping range.
    void insert(Mapping m);
    void freeze();
    bool frozen() const { return frozen_; }

    // The mapping holding all of [address, address + size), or nothing.
    std::optional<Hit> find(uint64_t address, uint32_t size) const;

    // In address order.
    const std::vector<Mapping> &mappings() const { return sorted_; }

private:
    Space space_;
    bool frozen_ = false;
    std::vector<Mapping> sorted_;
};

// "pio 0x3f8-0x3ff" / "mmio 0xd0000000-0xd0000fff"
std::string describe_range(Space space, uint64_t base, uint64_t size);

} // namespace vmm
