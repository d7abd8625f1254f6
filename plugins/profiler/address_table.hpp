// address_table.hpp - the per-vCPU table of the ports and MMIO addresses the
// guest touched, each with its counters (AddressStats).
//
// A table of its own because it is the one structure the exit path may grow
// (only on an address not seen before): it has to find an address in a few
// probes without allocating, and to stop growing at kMaxAddresses entries
// however many addresses a guest walks through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vmm::profiler {

constexpr std::size_t kMaxAddresses = 4096; // distinct (space, address) pairs kept per vCPU

// One (space, address) the guest touched, as seen by one vCPU.
struct AddressStats {
    uint32_t space = 0;
    uint64_t address = 0;
    uint32_t device = 0;      // index into Shard::devices; 0 = "unhandled"
    uint64_t exits = 0;
    uint64_t accesses = 0;    // string I/O: several per exit
    uint64_t reads = 0;
    uint64_t writes = 0;
    uint64_t bytes = 0;
    uint64_t handling_ns = 0; // sum
};

// Open addressing, linear probing, keys never 0 (the space is in the top
// bits and is 1 or 2). Grows at half load; grows only on a new key.
class AddressTable {
public:
    AddressTable() : slots_(64, Slot{}) {}

    // nullptr when full (kMaxAddresses distinct keys): the caller counts the
    // access as "other".
    AddressStats *find_or_add(uint32_t space, uint64_t address, bool &added)
    {
        added = false;
        const uint64_t key = (uint64_t{space} << 60) | (address & ((uint64_t{1} << 60) - 1));
        std::size_t mask = slots_.size() - 1;
        for (std::size_t i = hash(key) & mask;; i = (i + 1) & mask) {
            if (slots_[i].key == key)
                return &entries_[slots_[i].index];
            if (slots_[i].key == 0)
                break;
        }
        if (entries_.size() >= kMaxAddresses)
            return nullptr;
        if ((entries_.size() + 1) * 2 > slots_.size()) {
            grow();
            mask = slots_.size() - 1;
        }
        std::size_t i = hash(key) & mask;
        while (slots_[i].key != 0)
            i = (i + 1) & mask;
        slots_[i] = Slot{key, static_cast<uint32_t>(entries_.size())};
        AddressStats stats;
        stats.space = space;
        stats.address = address;
        entries_.push_back(stats);
        added = true;
        return &entries_.back();
    }

    const std::vector<AddressStats> &entries() const { return entries_; }

private:
    struct Slot {
        uint64_t key = 0;
        uint32_t index = 0;
    };
    static std::size_t hash(uint64_t key)
    {
        key ^= key >> 33;
        key *= 0xff51afd7ed558ccdull;
        key ^= key >> 33;
        return static_cast<std::size_t>(key);
    }
    void grow()
    {
        std::vector<Slot> old(slots_.size() * 2, Slot{});
        old.swap(slots_);
        const std::size_t mask = slots_.size() - 1;
        for (const Slot &s : old) {
            if (s.key == 0)
                continue;
            std::size_t i = hash(s.key) & mask;
            while (slots_[i].key != 0)
                i = (i + 1) & mask;
            slots_[i] = s;
        }
    }

    std::vector<Slot> slots_;
    std::vector<AddressStats> entries_;
};

} // namespace vmm::profiler
