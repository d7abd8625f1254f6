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
// shards and the trace buffer, and the table, JSON and trace it writes when
// the VM stops. The counters are in exit_stats.hpp (with the address table
// in address_table.hpp).
#include "exit_stats.hpp"

#include <vmm/sdk.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vmm::profiler {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kDefaultTraceLimit = 100000;
constexpr int64_t kMaxTraceLimit = int64_t{1} << 26; // 64 Mi events: 4.5 GiB of 72-byte records
constexpr int64_t kDefaultTop = 16;

constexpr std::array kKeys = {
    vmm::sdk::string_key("json", "write the counts and percentiles as JSON to this file when the VM stops"),
    vmm::sdk::string_key("trace", "write a Chrome trace-event file (one complete event per exit) to this file"),
    vmm::sdk::int_key("trace_limit", "at most this many exits in the trace; later ones are counted as dropped "
                                     "(default 100000)"),
    vmm::sdk::int_key("top", "rows of the port and MMIO tables in the printed summary (default 16; the JSON has all)"),
    vmm::sdk::bool_key("summary", "print the summary table through the log when the VM stops (default true)"),
};

std::string hex(uint64_t value)
{
    char text[24];
    std::snprintf(text, sizeof text, "0x%" PRIx64, value);
    return text;
}

double micros(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

struct FileCloser {
    void operator()(FILE *file) const noexcept { std::fclose(file); }
};
using File = std::unique_ptr<FILE, FileCloser>;

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
        summary_ = s.get_bool("summary", true);
        top_ = s.get_int("top", kDefaultTop);
        if (top_ < 0)
            throw vmm::sdk::ConfigError("top must be >= 0");
        json_path_ = s.get_string("json", "");
        trace_path_ = s.get_string("trace", "");
        const int64_t limit = s.get_int("trace_limit", kDefaultTraceLimit);
        if (limit < 0 || limit > kMaxTraceLimit)
            throw vmm::sdk::ConfigError("trace_limit must be between 0 and " + std::to_string(kMaxTraceLimit));
        if (s.has("trace_limit") && trace_path_.empty())
            throw vmm::sdk::ConfigError("trace_limit needs trace = \"file\"");
        // Open the files now, so a bad path is a configuration error before
        // the VM runs rather than a lost result after it.
        if (!json_path_.empty())
            json_file_ = open_or_throw(json_path_, "json");
        if (!trace_path_.empty()) {
            trace_file_ = open_or_throw(trace_path_, "trace");
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
    static File open_or_throw(const std::string &path, const char *key)
    {
        File file(std::fopen(path.c_str(), "w"));
        if (file == nullptr)
            throw vmm::sdk::ConfigError(std::string(key) + ": cannot write '" + path + "': " + std::strerror(errno));
        return file;
    }

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
        if (summary_)
            print(sum, recorded, dropped);
        if (json_file_ != nullptr)
            write_json(sum, recorded, dropped);
        if (trace_file_ != nullptr)
            write_trace(sum, recorded, dropped);
    }

    static std::string percentiles(const LogHistogram &h)
    {
        char text[96];
        std::snprintf(text, sizeof text, "%9.2f %9.2f %9.2f", micros(h.percentile(0.5)), micros(h.percentile(0.9)),
                      micros(h.percentile(0.99)));
        return text;
    }

    void print(const Summary &sum, uint64_t recorded, uint64_t dropped) const
    {
        const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
        host().info("profile: %" PRIu64 " exits on %zu vCPU(s) in %.3f s; time in the guest %.3f s, handling exits "
                    "%.3f s",
                    sum.exits, sum.vcpu_exits.size(), seconds, static_cast<double>(sum.guest.sum()) / 1e9,
                    static_cast<double>(sum.handling.sum()) / 1e9);
        if (sum.exits == 0)
            return;
        host().info("%-16s %10s %6s | %-29s | %-29s", "reason", "exits", "%", "handling us p50 p90 p99",
                    "guest us p50 p90 p99");
        for (const auto &[reason, t] : sum.reasons) {
            host().info("%-16s %10" PRIu64 " %6.1f | %s | %s", t.name.c_str(), t.count,
                        100.0 * static_cast<double>(t.count) / static_cast<double>(sum.exits),
                        percentiles(t.handling).c_str(), percentiles(t.guest).c_str());
        }
        host().info("%-16s %10" PRIu64 " %6.1f | %s | %s", "all", sum.exits, 100.0, percentiles(sum.handling).c_str(),
                    percentiles(sum.guest).c_str());

        for (const auto &[vcpu, reasons] : sum.vcpus) {
            std::string line;
            for (const auto &[reason, count] : reasons)
                line += " " + sum.reasons.at(reason).name + "=" + std::to_string(count);
            host().info("vcpu %-3s %10" PRIu64 " exits:%s",
                        vcpu == kMaxVcpus ? "64+" : std::to_string(vcpu).c_str(), sum.vcpu_exits.at(vcpu),
                        line.c_str());
        }
        print_addresses(sum, VMM_SPACE_PIO);
        print_addresses(sum, VMM_SPACE_MMIO);
        if (!sum.devices.empty()) {
            std::string line;
            for (const auto &[device, count] : sum.devices)
                line += " " + device + "=" + std::to_string(count);
            host().info("exits by device:%s", line.c_str());
        }
        if (trace_file_ != nullptr)
            host().info("trace: %" PRIu64 " exits written to %s, %" PRIu64 " dropped (trace_limit %" PRIu64 ")",
                        recorded, trace_path_.c_str(), dropped, trace_limit_);
        if (json_file_ != nullptr)
            host().info("json: written to %s", json_path_.c_str());
    }

    void print_addresses(const Summary &sum, uint32_t space) const
    {
        std::vector<const AddressRow *> rows;
        for (const auto &[key, row] : sum.addresses) {
            if (row.space == space)
                rows.push_back(&row);
        }
        if (rows.empty() && sum.other_exits[space] == 0)
            return;
        std::stable_sort(rows.begin(), rows.end(),
                         [](const AddressRow *a, const AddressRow *b) { return a->exits > b->exits; });
        const bool pio = space == VMM_SPACE_PIO;
        host().info("%-18s %-16s %10s %10s %10s %12s", pio ? "port" : "mmio address", "device", "exits", "reads",
                    "writes", "handling us");
        const std::size_t shown = std::min<std::size_t>(rows.size(), static_cast<std::size_t>(top_));
        for (std::size_t i = 0; i < shown; ++i) {
            const AddressRow &r = *rows[i];
            host().info("%-18s %-16s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %12.2f", hex(r.address).c_str(),
                        r.device.c_str(), r.exits, r.reads, r.writes,
                        r.exits ? micros(r.handling_ns) / static_cast<double>(r.exits) : 0.0);
        }
        if (rows.size() > shown)
            host().info("... %zu more %s (all of them in the JSON)", rows.size() - shown, pio ? "ports" : "addresses");
        if (sum.other_exits[space] != 0)
            host().info("%" PRIu64 " exits at further addresses were not told apart (more than %zu per vCPU)",
                        sum.other_exits[space], kMaxAddresses);
    }

    static nlohmann::json histogram_json(const LogHistogram &h)
    {
        return nlohmann::json{{"count", h.count()},          {"min", h.min()},
                              {"max", h.max()},              {"mean", h.mean()},
                              {"p50", h.percentile(0.5)},    {"p90", h.percentile(0.9)},
                              {"p99", h.percentile(0.99)},   {"total", h.sum()}};
    }

    void write_json(const Summary &sum, uint64_t recorded, uint64_t dropped) const
    {
        using nlohmann::json;
        json j;
        j["exits"] = sum.exits;
        j["units"] = "nanoseconds; percentiles are bucket upper bounds, at most 12.5% high";
        j["handling_ns"] = histogram_json(sum.handling);
        j["guest_ns"] = histogram_json(sum.guest);
        json reasons = json::object();
        for (const auto &[reason, t] : sum.reasons)
            reasons[t.name] = json{{"reason", reason},
                                   {"count", t.count},
                                   {"handling_ns", histogram_json(t.handling)},
                                   {"guest_ns", histogram_json(t.guest)}};
        j["by_reason"] = reasons;
        json vcpus = json::object();
        for (const auto &[vcpu, by_reason] : sum.vcpus) {
            json r = json::object();
            for (const auto &[reason, count] : by_reason)
                r[sum.reasons.at(reason).name] = count;
            vcpus[vcpu == kMaxVcpus ? "64+" : std::to_string(vcpu)] =
                json{{"exits", sum.vcpu_exits.at(vcpu)}, {"by_reason", r}};
        }
        j["by_vcpu"] = vcpus;
        json ports = json::object(), mmio = json::object();
        for (const auto &[key, row] : sum.addresses) {
            json entry{{"address", row.address}, {"device", row.device},  {"exits", row.exits},
                       {"accesses", row.accesses}, {"reads", row.reads},  {"writes", row.writes},
                       {"bytes", row.bytes},     {"handling_ns_total", row.handling_ns}};
            (row.space == VMM_SPACE_PIO ? ports : mmio)[hex(row.address)] = entry;
        }
        j["by_port"] = ports;
        j["by_mmio"] = mmio;
        j["by_device"] = sum.devices;
        j["untracked_exits"] = json{{"pio", sum.other_exits[VMM_SPACE_PIO]}, {"mmio", sum.other_exits[VMM_SPACE_MMIO]}};
        if (trace_file_ != nullptr)
            j["trace"] = json{{"file", trace_path_}, {"events", recorded}, {"dropped", dropped}, {"limit", trace_limit_}};
        const std::string text = j.dump(2) + "\n";
        if (std::fwrite(text.data(), 1, text.size(), json_file_.get()) != text.size() || std::fflush(json_file_.get()) != 0)
            host().error("json: could not write %s: %s", json_path_.c_str(), std::strerror(errno));
    }

    // Streamed with fprintf: a trace may hold millions of events. Every
    // string in it is a reason name (letters, '_') or a device name (letters,
    // digits, '-', '_'), so nothing needs escaping.
    void write_trace(const Summary &sum, uint64_t recorded, uint64_t dropped) const
    {
        FILE *f = trace_file_.get();
        std::fprintf(f, "{\"displayTimeUnit\": \"ns\", \"otherData\": {\"tool\": \"vmm profiler\", \"events\": %" PRIu64
                        ", \"dropped\": %" PRIu64 ", \"trace_limit\": %" PRIu64 "},\n\"traceEvents\": [\n",
                     recorded, dropped, trace_limit_);
        std::fprintf(f, "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 0, "
                        "\"args\": {\"name\": \"vmm\"}}");
        for (const auto &[vcpu, exits] : sum.vcpu_exits)
            std::fprintf(f, ",\n{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": %u, "
                            "\"args\": {\"name\": \"vCPU %u\"}}",
                         vcpu, vcpu);
        for (uint64_t i = 0; i < recorded; ++i) {
            const TraceRecord &r = trace_[i];
            const auto reason = sum.reasons.find(std::min<uint32_t>(r.reason, kReasonSlots - 1));
            const char *name = reason != sum.reasons.end() ? reason->second.name.c_str() : "?";
            std::fprintf(f,
                         ",\n{\"name\": \"%s\", \"cat\": \"exit\", \"ph\": \"X\", \"ts\": %" PRIu64 ".%03u, "
                         "\"dur\": %" PRIu64 ".%03u, \"pid\": 1, \"tid\": %u, \"args\": {\"rip\": \"0x%" PRIx64
                         "\", \"cs\": \"0x%04x\", \"guest_ns\": %" PRIu64,
                         name, r.ts_ns / 1000, static_cast<unsigned>(r.ts_ns % 1000), r.handling_ns / 1000,
                         static_cast<unsigned>(r.handling_ns % 1000), r.vcpu, r.rip, r.cs, r.guest_ns);
            if (r.space == VMM_SPACE_PIO || r.space == VMM_SPACE_MMIO) {
                const auto row = sum.addresses.find({r.space, r.address});
                const char *device = row != sum.addresses.end() ? row->second.device.c_str() : "?";
                std::fprintf(f,
                             ", \"%s\": \"0x%" PRIx64 "\", \"direction\": \"%s\", \"size\": %u, \"count\": %u, "
                             "\"data\": \"0x%" PRIx64 "\", \"device\": \"%s\"",
                             r.space == VMM_SPACE_PIO ? "port" : "address", r.address,
                             r.is_write ? "write" : "read", r.size, r.count, r.data, device);
            }
            std::fputs("}}", f);
        }
        std::fputs("\n]}\n", f);
        if (std::fflush(f) != 0 || std::ferror(f))
            host().error("trace: could not write %s: %s", trace_path_.c_str(), std::strerror(errno));
    }

    const Clock::time_point start_;
    bool summary_ = true;
    int64_t top_ = kDefaultTop;
    std::string json_path_, trace_path_;
    File json_file_;
    File trace_file_;

    std::mutex create_mutex_;
    Shards shards_;

    std::unique_ptr<TraceRecord[]> trace_;
    uint64_t trace_limit_ = 0;
    std::atomic<uint64_t> trace_next_{0};
};

} // namespace
} // namespace vmm::profiler

VMM_PLUGIN(vmm::profiler::Profiler)
