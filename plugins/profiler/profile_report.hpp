// profile_report.hpp - the profiler's three outputs when the VM stops: the
// table printed through the log, the JSON file and the Chrome trace-event
// file, all made from a Summary and the trace records.
//
// Apart from the device because none of it runs while the guest does, and
// because its formats are what users and the tests parse: every byte of
// them is decided here, and nothing here can change what is counted.
#pragma once

#include "exit_stats.hpp"

#include <vmm/sdk/host.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

namespace vmm::profiler {

// The trace as the run left it: its first `recorded` exits are in
// `records`; `dropped` more came after all `limit` records were taken.
struct TraceContents {
    const TraceRecord *records = nullptr;
    uint64_t recorded = 0;
    uint64_t dropped = 0;
    uint64_t limit = 0;
};

// An output file, opened (and checked) when the device was made.
struct ReportFile {
    FILE *file = nullptr; // null: the settings did not ask for it
    std::string path;
};

class ProfileReport {
public:
    ProfileReport(const sdk::Host &log, const Summary &sum, const TraceContents &trace, ReportFile json,
                  ReportFile trace_file)
        : log_(log), sum_(sum), trace_(trace), json_(std::move(json)), trace_file_(std::move(trace_file))
    {
    }

    // The table, at info level; `seconds` is how long the profiler ran,
    // `top` the number of rows of the port and MMIO tables.
    void print(double seconds, std::size_t top) const;
    // Each writes its file and flushes it; a write error is logged.
    void write_json() const;
    void write_trace() const;

private:
    void print_addresses(uint32_t space, std::size_t top) const;

    const sdk::Host &log_;
    const Summary &sum_;
    const TraceContents trace_;
    const ReportFile json_;
    const ReportFile trace_file_;
};

} // namespace vmm::profiler
