// Where `--report FILE` goes, and how it gets there.
//
// A report is either this run's whole account or absent. So, once the
// options are known good and before anything else has side effects, the
// previous run's FILE is removed (a run that then ends with bad input, a
// crash or a forced exit leaves no stale report behind), and every report
// is written to a temporary file in FILE's directory and renamed over FILE
// (a reader, or a second signal mid-write, never sees half a report).
//
// FILE must be a regular file or not exist: a FIFO with no reader would
// block open() at start-up, and a device or directory is not a report.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace vmm {

class ReportFile {
public:
    // Refuses (InputError) a FILE that is not a regular file or whose
    // directory takes no new file; removes an existing FILE.
    explicit ReportFile(std::filesystem::path file);
    ReportFile(const ReportFile &) = delete;
    ReportFile &operator=(const ReportFile &) = delete;

    // Throws SystemError when the file cannot be written.
    void write(const std::string &json) const;

    // What a minimal report says about the machine (its name and file);
    // until this is called, write_minimal_now() writes nothing.
    static void set_machine(const std::string &machine, const std::string &file);

    // For a process about to end without a whole report (a crash, a forced
    // exit): the machine, the exit status and why, nothing about vCPUs,
    // exits or checks, which it cannot vouch for. It replaces a whole
    // report written earlier only when that one gives another status.
    // Async-signal-safe (open, write, rename on prepared paths and static
    // buffers); does nothing when no ReportFile exists.
    static void write_minimal_now(int exit_status, const char *cause, const char *reason) noexcept;

private:
    std::filesystem::path file_;
    std::filesystem::path temporary_;
};

} // namespace vmm
