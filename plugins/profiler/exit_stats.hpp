// exit_stats.hpp - what the profiler keeps about the exits: each vCPU's
// counters while the VM runs (Shard), the record of one traced exit
// (TraceRecord), and the figures of the whole run they add up to (Summary).
//
// Apart from the device because these are the two sides of one hand-over:
// the exit path only ever writes a Shard or a TraceRecord, and the report
// only ever reads a Summary (and the trace records); summarize() is the one
// place that turns the first into the second.
#pragma once

#include "address_table.hpp"
#include "log_histogram.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace vmm::profiler {

constexpr std::size_t kMaxVcpus = 64;    // the core's limit; a higher index shares one extra shard
constexpr std::size_t kReasonSlots = 64; // KVM_EXIT_* values; higher ones share the last slot

struct ReasonStats {
    uint64_t count = 0;
    std::unique_ptr<LogHistogram> handling; // made when the reason is first seen
    std::unique_ptr<LogHistogram> guest;
    char name[32] = {};
};

// Exits over time, in kBuckets buckets of `width` ticks from the
// profiler's start: when a run outgrows them, neighbours merge and the width
// doubles, so a long run costs no more (no allocation on the exit path).
// Ticks are the TSC's (the profiler converts them to time once, at the end):
// reading it costs about 30 ns here, a steady_clock read about 70.
struct Timeline {
    static constexpr std::size_t kBuckets = 512;
    uint64_t width = uint64_t{1} << 20; // about 0.3 ms at 3 GHz, to start with
    std::array<uint64_t, kBuckets> counts{};

    void record(uint64_t at) noexcept
    {
        while (at / width >= kBuckets) {
            for (std::size_t i = 0; i < kBuckets / 2; ++i)
                counts[i] = counts[2 * i] + counts[2 * i + 1];
            std::fill(counts.begin() + kBuckets / 2, counts.end(), 0);
            width *= 2;
        }
        ++counts[at / width];
    }
};

// Everything one vCPU's exits add up to. Only that vCPU's thread writes it
// while the VM runs; the mutex is there for the final dump (and for the
// shared overflow shard of vCPU indices >= kMaxVcpus).
struct Shard {
    std::mutex mutex;
    uint64_t exits = 0;
    std::array<ReasonStats, kReasonSlots> reasons;
    AddressTable addresses;
    std::vector<std::string> devices{"unhandled"};
    uint64_t other_exits[3] = {}; // by space: accesses past kMaxAddresses
    Timeline timeline;
};

// One shard per vCPU index, the last one shared by indices >= kMaxVcpus;
// null until that vCPU's first exit.
using Shards = std::array<std::atomic<Shard *>, kMaxVcpus + 1>;

// One exit as the trace keeps it (the device is looked up at the end from
// the address tables: an address's owner does not change during a run).
struct TraceRecord {
    uint64_t ts_ns;       // exit time, since the profiler was created
    uint64_t handling_ns;
    uint64_t guest_ns;
    uint64_t address;
    uint64_t data;
    uint64_t rip;
    uint32_t vcpu;
    uint32_t reason;
    uint32_t size;
    uint32_t count;
    uint16_t cs;
    uint8_t space;
    uint8_t is_write;
};
static_assert(sizeof(TraceRecord) == 72, "the README and kMaxTraceLimit's comment give 72 bytes per record");

// One exit reason over all vCPUs.
struct ReasonTotals {
    uint64_t count = 0;
    LogHistogram handling;
    LogHistogram guest;
    std::string name;
};

// One (space, address) over all vCPUs, with the name of its device.
struct AddressRow {
    uint32_t space = 0;
    uint64_t address = 0;
    std::string device;
    uint64_t exits = 0, accesses = 0, reads = 0, writes = 0, bytes = 0, handling_ns = 0;
};

// The whole run, as the report shows it.
struct Summary {
    uint64_t exits = 0;
    std::map<uint32_t, ReasonTotals> reasons;               // by reason number
    std::map<uint32_t, std::map<uint32_t, uint64_t>> vcpus; // vcpu -> reason -> count
    std::map<uint32_t, uint64_t> vcpu_exits;
    std::map<std::pair<uint32_t, uint64_t>, AddressRow> addresses;
    std::map<std::string, uint64_t> devices;                // exits by owning device
    uint64_t other_exits[3] = {};
    LogHistogram handling, guest;
    bool overflow_vcpus = false;
    // Exits over time per vCPU, all in buckets of timeline_width ticks.
    uint64_t timeline_width = 0;
    std::map<uint32_t, std::vector<uint64_t>> timeline;
};

// Adds up every shard, each under its mutex.
Summary summarize(const Shards &shards);

} // namespace vmm::profiler
