// profile_report.cpp - the summary table, the JSON and the Chrome trace;
// see profile_report.hpp. The README shows all three: keep them in step.
#include "profile_report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <vector>

namespace vmm::profiler {
namespace {

std::string hex(uint64_t value)
{
    char text[24];
    std::snprintf(text, sizeof text, "0x%" PRIx64, value);
    return text;
}

double micros(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

std::string percentiles(const LogHistogram &h)
{
    char text[96];
    std::snprintf(text, sizeof text, "%9.2f %9.2f %9.2f", micros(h.percentile(0.5)), micros(h.percentile(0.9)),
                  micros(h.percentile(0.99)));
    return text;
}

nlohmann::json histogram_json(const LogHistogram &h)
{
    return nlohmann::json{{"count", h.count()},          {"min", h.min()},
                          {"max", h.max()},              {"mean", h.mean()},
                          {"p50", h.percentile(0.5)},    {"p90", h.percentile(0.9)},
                          {"p99", h.percentile(0.99)},   {"total", h.sum()}};
}

} // namespace

void ProfileReport::print(double seconds, std::size_t top) const
{
    const Summary &sum = sum_;
    log_.info("profile: %" PRIu64 " exits on %zu vCPU(s) in %.3f s; time in the guest %.3f s, handling exits "
              "%.3f s",
              sum.exits, sum.vcpu_exits.size(), seconds, static_cast<double>(sum.guest.sum()) / 1e9,
              static_cast<double>(sum.handling.sum()) / 1e9);
    if (sum.exits == 0)
        return;
    log_.info("%-16s %10s %6s | %-29s | %-29s", "reason", "exits", "%", "handling us p50 p90 p99",
              "guest us p50 p90 p99");
    for (const auto &[reason, t] : sum.reasons) {
        log_.info("%-16s %10" PRIu64 " %6.1f | %s | %s", t.name.c_str(), t.count,
                  100.0 * static_cast<double>(t.count) / static_cast<double>(sum.exits),
                  percentiles(t.handling).c_str(), percentiles(t.guest).c_str());
    }
    log_.info("%-16s %10" PRIu64 " %6.1f | %s | %s", "all", sum.exits, 100.0, percentiles(sum.handling).c_str(),
              percentiles(sum.guest).c_str());

    for (const auto &[vcpu, reasons] : sum.vcpus) {
        std::string line;
        for (const auto &[reason, count] : reasons)
            line += " " + sum.reasons.at(reason).name + "=" + std::to_string(count);
        log_.info("vcpu %-3s %10" PRIu64 " exits:%s", vcpu == kMaxVcpus ? "64+" : std::to_string(vcpu).c_str(),
                  sum.vcpu_exits.at(vcpu), line.c_str());
    }
    print_addresses(VMM_SPACE_PIO, top);
    print_addresses(VMM_SPACE_MMIO, top);
    if (!sum.devices.empty()) {
        std::string line;
        for (const auto &[device, count] : sum.devices)
            line += " " + device + "=" + std::to_string(count);
        log_.info("exits by device:%s", line.c_str());
    }
    if (trace_file_.file != nullptr)
        log_.info("trace: %" PRIu64 " exits written to %s, %" PRIu64 " dropped (trace_limit %" PRIu64 ")",
                  trace_.recorded, trace_file_.path.c_str(), trace_.dropped, trace_.limit);
    if (json_.file != nullptr)
        log_.info("json: written to %s", json_.path.c_str());
}

void ProfileReport::print_addresses(uint32_t space, std::size_t top) const
{
    const Summary &sum = sum_;
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
    log_.info("%-18s %-16s %10s %10s %10s %12s", pio ? "port" : "mmio address", "device", "exits", "reads", "writes",
              "handling us");
    const std::size_t shown = std::min(rows.size(), top);
    for (std::size_t i = 0; i < shown; ++i) {
        const AddressRow &r = *rows[i];
        log_.info("%-18s %-16s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %12.2f", hex(r.address).c_str(),
                  r.device.c_str(), r.exits, r.reads, r.writes,
                  r.exits ? micros(r.handling_ns) / static_cast<double>(r.exits) : 0.0);
    }
    if (rows.size() > shown)
        log_.info("... %zu more %s (all of them in the JSON)", rows.size() - shown, pio ? "ports" : "addresses");
    if (sum.other_exits[space] != 0)
        log_.info("%" PRIu64 " exits at further addresses were not told apart (more than %zu per vCPU)",
                  sum.other_exits[space], kMaxAddresses);
}

void ProfileReport::write_json() const
{
    using nlohmann::json;
    const Summary &sum = sum_;
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
    if (trace_file_.file != nullptr)
        j["trace"] = json{{"file", trace_file_.path},
                          {"events", trace_.recorded},
                          {"dropped", trace_.dropped},
                          {"limit", trace_.limit}};
    const std::string text = j.dump(2) + "\n";
    if (std::fwrite(text.data(), 1, text.size(), json_.file) != text.size() || std::fflush(json_.file) != 0)
        log_.error("json: could not write %s: %s", json_.path.c_str(), std::strerror(errno));
}

// Streamed with fprintf: a trace may hold millions of events. Every string
// in it is a reason name (letters, '_') or a device name (letters, digits,
// '-', '_'), so nothing needs escaping.
void ProfileReport::write_trace() const
{
    const Summary &sum = sum_;
    FILE *f = trace_file_.file;
    std::fprintf(f, "{\"displayTimeUnit\": \"ns\", \"otherData\": {\"tool\": \"vmm profiler\", \"events\": %" PRIu64
                    ", \"dropped\": %" PRIu64 ", \"trace_limit\": %" PRIu64 "},\n\"traceEvents\": [\n",
                 trace_.recorded, trace_.dropped, trace_.limit);
    std::fprintf(f, "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 0, "
                    "\"args\": {\"name\": \"vmm\"}}");
    for (const auto &[vcpu, exits] : sum.vcpu_exits)
        std::fprintf(f, ",\n{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": %u, "
                        "\"args\": {\"name\": \"vCPU %u\"}}",
                     vcpu, vcpu);
    for (uint64_t i = 0; i < trace_.recorded; ++i) {
        const TraceRecord &r = trace_.records[i];
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
                         r.space == VMM_SPACE_PIO ? "port" : "address", r.address, r.is_write ? "write" : "read",
                         r.size, r.count, r.data, device);
        }
        std::fputs("}}", f);
    }
    std::fputs("\n]}\n", f);
    if (std::fflush(f) != 0 || std::ferror(f))
        log_.error("trace: could not write %s: %s", trace_file_.path.c_str(), std::strerror(errno));
}

} // namespace vmm::profiler
