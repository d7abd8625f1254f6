// exit_stats.cpp - summarize(): the per-vCPU shards added up into one
// Summary when the VM stops; see exit_stats.hpp.
#include "exit_stats.hpp"

namespace vmm::profiler {

Summary summarize(const Shards &shards)
{
    Summary sum;
    for (std::size_t index = 0; index <= kMaxVcpus; ++index) {
        Shard *shard = shards[index].load(std::memory_order_acquire);
        if (shard == nullptr)
            continue;
        std::lock_guard lock(shard->mutex);
        const uint32_t vcpu = static_cast<uint32_t>(index);
        sum.overflow_vcpus = sum.overflow_vcpus || index == kMaxVcpus;
        sum.exits += shard->exits;
        sum.vcpu_exits[vcpu] += shard->exits;
        for (std::size_t r = 0; r < kReasonSlots; ++r) {
            const ReasonStats &stats = shard->reasons[r];
            if (stats.count == 0)
                continue;
            ReasonTotals &totals = sum.reasons[static_cast<uint32_t>(r)];
            totals.count += stats.count;
            totals.name = stats.name;
            totals.handling.merge(*stats.handling);
            totals.guest.merge(*stats.guest);
            sum.handling.merge(*stats.handling);
            sum.guest.merge(*stats.guest);
            sum.vcpus[vcpu][static_cast<uint32_t>(r)] += stats.count;
        }
        for (const AddressStats &a : shard->addresses.entries()) {
            AddressRow &row = sum.addresses[{a.space, a.address}];
            row.space = a.space;
            row.address = a.address;
            row.device = shard->devices[a.device];
            row.exits += a.exits;
            row.accesses += a.accesses;
            row.reads += a.reads;
            row.writes += a.writes;
            row.bytes += a.bytes;
            row.handling_ns += a.handling_ns;
            sum.devices[row.device] += a.exits;
        }
        for (int space = 0; space < 3; ++space)
            sum.other_exits[space] += shard->other_exits[space];
        sum.timeline_width = std::max(sum.timeline_width, shard->timeline.width);
    }
    // Every vCPU's timeline in the widest bucket width (widths are the same
    // start times powers of two, so buckets merge exactly).
    for (std::size_t index = 0; index <= kMaxVcpus; ++index) {
        Shard *shard = shards[index].load(std::memory_order_acquire);
        if (shard == nullptr)
            continue;
        std::lock_guard lock(shard->mutex);
        const uint64_t factor = sum.timeline_width / shard->timeline.width;
        std::vector<uint64_t> &counts = sum.timeline[static_cast<uint32_t>(index)];
        counts.assign(Timeline::kBuckets, 0);
        for (std::size_t i = 0; i < Timeline::kBuckets; ++i)
            counts[i / factor] += shard->timeline.counts[i];
    }
    return sum;
}

} // namespace vmm::profiler
