// profiler: counts and times every VM exit of every vCPU; when the VM stops
// it prints a table through the host's log and, when asked, writes the same
// figures as JSON and every exit as a Chrome trace-event file.
//
// State: usable; its counts are exact (tested against a guest with a known
//        number of port and MMIO accesses on two vCPUs).
// Missing: per-device handling-time percentiles (only a mean per address),
//          a periodic dump while the VM runs, a trace that keeps the last
//          events rather than the first, sampling for very long runs.
// Documentation: the vmm plugin ABI 1.2 (observe_exit, vmm_exit_event);
//          Chrome's "Trace Event Format" (Google doc, 2016: complete events,
//          "ph": "X", ts/dur in microseconds), as read by Perfetto's UI and
//          chrome://tracing. Seed 001's last task ("measure the number of
//          VMEXITs") is what it grew from.
//
// Cost per exit: the exit's vCPU owns a shard (counts by reason, address
// table, histograms), so vCPUs never contend; the shard's mutex is only
// shared with the final dump. No allocation per exit: the address table
// grows only when the guest touches a new address (at most kMaxAddresses
// per vCPU; the rest are counted together), a reason's histograms are made
// the first time it is seen, and the trace buffer is allocated once (untouched
// pages cost nothing) and filled through one atomic index.
//
// This file is the device: its settings, the exit hook that fills the
// shards and the trace buffer, and the call to the report when the VM
// stops. The counters are in exit_stats.hpp (with the address table in
// address_table.hpp), the three outputs in profile_report.cpp.
#include "exit_stats.hpp"
#include "html_report.hpp"
#include "profile_report.hpp"

#include <vmm/sdk.hpp>

#include <x86intrin.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

namespace vmm::profiler {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kMaxTraceLimit = int64_t{1} << 26; // 64 Mi events: 4.5 GiB of 72-byte records
constexpr int64_t kDefaultTop = 16;

constexpr std::array kKeys = {
    vmm::sdk::path_key("json", "write the counts and percentiles as JSON to this file when the VM stops",
                       VMM_KEY_PATH_WRITE),
    vmm::sdk::path_key("trace", "write a Chrome trace-event file (one complete event per exit) to this file",
                       VMM_KEY_PATH_WRITE),
    vmm::sdk::path_key("html",
                       "write a self-contained HTML page of charts (exits over time per vCPU, by reason "
                       "and device, latency histograms) to this file",
                       VMM_KEY_PATH_WRITE),
    vmm::sdk::with_range(
        vmm::sdk::with_default(
            vmm::sdk::int_key("trace_limit", "at most this many exits in the trace; later ones are counted as dropped"),
            "100000"),
        0, kMaxTraceLimit),
    vmm::sdk::with_default(
        vmm::sdk::int_key("top", "rows of the port and MMIO tables in the printed summary (the JSON has all)"), "16"),
    vmm::sdk::with_default(vmm::sdk::bool_key("summary", "print the summary table through the log when the VM stops"),
                           "true"),
};

class Profiler final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        vmm::sdk::PluginInfo info{"profiler", "1.0.0",
                                  "counts and times every VM exit (by reason, address, device and vCPU); summary "
                                  "table, JSON and Chrome trace when the VM stops",
                                  kKeys, {}};
        info.thread_safe = true;
        info.observes_exits = true;
        return info;
    }

    explicit Profiler(const vmm::sdk::DeviceContext &context) : Device(context), start_(Clock::now())
    {
        if (!context.regions().empty())
            throw vmm::sdk::ConfigError("occupies no address range: remove its pio/mmio entries");
        const vmm::sdk::Settings &s = context.settings();
        summary_ = s.get_bool(kKeys[5]).value();
        top_ = s.get_int(kKeys[4]).value();
        if (top_ < 0)
            throw vmm::sdk::ConfigError("top must be >= 0");
        json_path_ = s.get_string("json", "");
        trace_path_ = s.get_string("trace", "");
        const int64_t limit = s.get_int(kKeys[3]).value();
        if (limit < 0 || limit > kMaxTraceLimit)
            throw vmm::sdk::ConfigError("trace_limit must be between 0 and " + std::to_string(kMaxTraceLimit));
        if (s.has("trace_limit") && trace_path_.empty())
            throw vmm::sdk::ConfigError("trace_limit needs trace = \"file\"");
        // Open the files now, so a bad path is a configuration error before
        // the VM runs rather than a lost result after it.
        if (!json_path_.empty())
            json_file_ = vmm::sdk::open_output_file(json_path_, "json");
        html_path_ = s.get_string("html", "");
        if (!html_path_.empty())
            html_file_ = vmm::sdk::open_output_file(html_path_, "html");
        if (!trace_path_.empty()) {
            trace_file_ = vmm::sdk::open_output_file(trace_path_, "trace");
            trace_limit_ = static_cast<uint64_t>(limit);
            // new[] without () leaves the records uninitialised: the kernel
            // hands out the pages only as the trace fills them.
            trace_ = std::unique_ptr<TraceRecord[]>(new TraceRecord[std::max<uint64_t>(trace_limit_, 1)]);
        }
        for (auto &slot : shards_)
            slot.store(nullptr, std::memory_order_relaxed);
    }

    ~Profiler() override
    {
        try {
            report();
        } catch (const std::exception &e) {
            host().error("could not write the profile: %s", e.what());
        } catch (...) {
            host().error("could not write the profile");
        }
        for (auto &slot : shards_)
            delete slot.load(std::memory_order_relaxed);
    }

    void observe_exit(const vmm_exit_event &event) override
    {
        Shard &shard = shard_for(event.vcpu);
        {
            std::lock_guard lock(shard.mutex);
            ++shard.exits;
            const uint64_t tsc = __rdtsc(); // a vCPU's TSC a hair behind the creator's counts as the start
            shard.timeline.record(tsc > start_tsc_ ? tsc - start_tsc_ : 0);
            ReasonStats &reason = shard.reasons[std::min<std::size_t>(event.reason, kReasonSlots - 1)];
            if (reason.handling == nullptr) {
                reason.handling = std::make_unique<LogHistogram>();
                reason.guest = std::make_unique<LogHistogram>();
                const char *name = event.reason >= kReasonSlots - 1 ? "OTHER"
                                   : event.reason_name != nullptr   ? event.reason_name
                                                                    : "?";
                std::snprintf(reason.name, sizeof reason.name, "%s", name);
            }
            ++reason.count;
            reason.handling->record(event.handling_ns);
            reason.guest->record(event.guest_ns);
            if (event.space == VMM_SPACE_PIO || event.space == VMM_SPACE_MMIO)
                count_access(shard, event);
        }
        if (trace_ != nullptr)
            trace(event);
    }

private:
    Shard &shard_for(uint32_t vcpu)
    {
        const std::size_t index = std::min<std::size_t>(vcpu, kMaxVcpus);
        Shard *shard = shards_[index].load(std::memory_order_acquire);
        if (shard != nullptr)
            return *shard;
        // Once per vCPU: shards are made on its first exit, because the
        // vCPUs do not exist yet when devices are created.
        std::lock_guard lock(create_mutex_);
        shard = shards_[index].load(std::memory_order_relaxed);
        if (shard == nullptr) {
            shard = new Shard;
            shards_[index].store(shard, std::memory_order_release);
        }
        return *shard;
    }

    static void count_access(Shard &shard, const vmm_exit_event &event)
    {
        bool added = false;
        AddressStats *stats = shard.addresses.find_or_add(event.space, event.address, added);
        if (stats == nullptr) {
            ++shard.other_exits[event.space];
            return;
        }
        if (added)
            stats->device = intern_device(shard, event.device);
        const uint64_t accesses = event.count ? event.count : 1;
        ++stats->exits;
        stats->accesses += accesses;
        (event.is_write ? stats->writes : stats->reads) += accesses;
        stats->bytes += accesses * event.size;
        stats->handling_ns += event.handling_ns;
    }

    static uint32_t intern_device(Shard &shard, const char *device)
    {
        if (device == nullptr)
            return 0;
        for (std::size_t i = 1; i < shard.devices.size(); ++i) {
            if (shard.devices[i] == device)
                return static_cast<uint32_t>(i);
        }
        shard.devices.emplace_back(device);
        return static_cast<uint32_t>(shard.devices.size() - 1);
    }

    void trace(const vmm_exit_event &event)
    {
        const uint64_t index = trace_next_.fetch_add(1, std::memory_order_relaxed);
        if (index >= trace_limit_)
            return; // counted as dropped: trace_next_ - trace_limit_
        const uint64_t now = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count());
        TraceRecord &r = trace_[index];
        r.ts_ns = now > event.handling_ns ? now - event.handling_ns : 0;
        r.handling_ns = event.handling_ns;
        r.guest_ns = event.guest_ns;
        r.address = event.address;
        r.data = event.data;
        r.rip = event.rip;
        r.vcpu = event.vcpu;
        r.reason = event.reason;
        r.size = event.size;
        r.count = event.count;
        r.cs = event.cs_selector;
        r.space = static_cast<uint8_t>(event.space);
        r.is_write = static_cast<uint8_t>(event.is_write != 0);
    }

    // ---- the end of the run ----

    void report()
    {
        const Summary sum = summarize(shards_);
        const uint64_t recorded = std::min(trace_next_.load(), trace_limit_);
        const uint64_t dropped = trace_next_.load() - recorded;
        const ProfileReport profile(host(), sum, TraceContents{trace_.get(), recorded, dropped, trace_limit_},
                                    ReportFile{json_file_.get(), json_path_},
                                    ReportFile{trace_file_.get(), trace_path_});
        if (summary_) {
            const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
            profile.print(seconds, static_cast<std::size_t>(top_));
        }
        if (json_file_ != nullptr)
            profile.write_json();
        if (trace_file_ != nullptr)
            profile.write_trace();
        if (html_file_ != nullptr) {
            const double ns = std::chrono::duration<double, std::nano>(Clock::now() - start_).count();
            const uint64_t ticks = __rdtsc() - start_tsc_;
            const std::string page =
                html_report(sum, ns / 1e9, ticks > 0 ? ns / static_cast<double>(ticks) : 0.0, "vmm profile: device " + name());
            FILE *f = html_file_.get();
            if (std::fwrite(page.data(), 1, page.size(), f) != page.size() || std::fflush(f) != 0)
                host().error("html: could not write %s: %s", html_path_.c_str(), std::strerror(errno));
            else
                host().info("html: charts written to %s", html_path_.c_str());
        }
    }

    const Clock::time_point start_;
    const uint64_t start_tsc_ = __rdtsc(); // the timeline's origin
    bool summary_ = true;
    int64_t top_ = kDefaultTop;
    std::string json_path_, trace_path_, html_path_;
    vmm::sdk::OutputFile html_file_;
    vmm::sdk::OutputFile json_file_;
    vmm::sdk::OutputFile trace_file_;

    std::mutex create_mutex_;
    Shards shards_;

    std::unique_ptr<TraceRecord[]> trace_;
    uint64_t trace_limit_ = 0;
    std::atomic<uint64_t> trace_next_{0};
};

} // namespace
} // namespace vmm::profiler

VMM_PLUGIN(vmm::profiler::Profiler)
