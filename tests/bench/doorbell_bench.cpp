// doorbell benchmark: a guest register write as an ioeventfd doorbell
// (absorbed in the kernel, counted later on the VMM's event loop) against
// the same write as an exit to userspace, side by side in one run.
//
// Each run is a whole `vmm` process on the doorbell-user guest
// (guests/doorbell-bench), which writes the irq-test device's RING register
// RBX times from CPL 3 - so that the loop runs natively and not in KVM's
// instruction emulator, as CPL 0 code does on this host - then reads the
// ring count back until it has them all, and ends through debug-exit with
// 0 only if the device counted every write exactly once. Each mode is run
// with N and N/8 writes; the difference cancels start-up: writes/s is
// (N - N/8) / (t(N) - t(N/8)). Runs are interleaved and medians taken, so
// drift hits both modes alike; on shared, nested machines only the ratio
// measured side by side means anything.
//
// The same loop also runs at CPL 0 (the guest's RSI = 1), for comparison:
// on kvm_pvm an OUT at CPL 3 is not native after all (IOPL does not reach
// CPL 3 there, so every OUT faults and is checked against the TSS's I/O
// bitmap in KVM's emulator; guests/doorbell-bench/doorbell_user.S), and
// there the CPL 0 figures are the closer measure of the transport.
//
// Usage: bench-doorbell [writes N (20000)] [repetitions (3)]
#include "bench_support.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

using bench::median;

[[noreturn]] void die(const std::string &what)
{
    std::fprintf(stderr, "bench-doorbell: %s\n", what.c_str());
    std::exit(1);
}

struct Run {
    double seconds = 0;
    double io_exits = 0;
    uint64_t rings = 0; // what the guest read back from the device
};

// One whole vmm process: `writes` rings with RING as a doorbell or not.
// vmm exits 0 only when the device counted exactly `writes` rings.
Run run_vmm(const std::string &dir, bool doorbell, bool cpl3, uint64_t writes)
{
    const std::string machine = dir + "/ring.toml";
    const std::string report = dir + "/report.json";
    const std::string log = dir + "/stderr.txt";
    std::ofstream(machine) << "[machine]\nmemory = \"1M\"\n"
                           << "[cpu]\nmode = \"long\"\nentry = 0x1000\nregisters = { rbx = " << writes
                           << ", rsi = " << (cpl3 ? 0 : 1) << " }\n"
                           << "[[image]]\nfile = \"" VMM_BENCH_GUEST_DIR "/doorbell-user.bin\"\naddress = 0x1000\n"
                           << "[[device]]\nname = \"ringer\"\nplugin = \"irq-test\"\n"
                           << "settings = { doorbell = " << (doorbell ? "true" : "false") << " }\n"
                           << "[[device]]\nname = \"exit\"\nplugin = \"debug-exit\"\n"
                           << "[[check]]\nmemory = 0x400\nwidth = 4\nequals = " << writes << "\n";
    const bench::VmmRun vmm = bench::time_vmm(machine, {"--report", report}, "/dev/null", log);
    Run run;
    run.seconds = vmm.seconds;
    std::ifstream in(report);
    if (in) {
        const nlohmann::json j = nlohmann::json::parse(in);
        run.io_exits = j["exits"]["by_reason"].value("IO", 0.0);
        if (!j["checks"].empty() && j["checks"][0].contains("actual"))
            run.rings = j["checks"][0]["actual"].get<uint64_t>();
    }
    if (!vmm.ok()) {
        std::ifstream err(log);
        const std::string text((std::istreambuf_iterator<char>(err)), {});
        die("vmm failed (status " + std::to_string(vmm.wait_status) + ", doorbell = " + std::to_string(doorbell) + ", CPL " + (cpl3 ? "3" : "0") +
            ", " + std::to_string(writes) + " writes, the device counted " + std::to_string(run.rings) + "):\n" +
            text);
    }
    return run;
}

} // namespace

int main(int argc, char **argv)
{
    const uint64_t large = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000;
    const int repetitions = argc > 2 ? std::atoi(argv[2]) : 3;
    if (large < 8 || large > 0xffffffffull || repetitions < 1)
        die("usage: bench-doorbell [writes 8..2^32-1] [repetitions >= 1]");
    const uint64_t small = large / 8;
    const bench::ScratchDir scratch("doorbell");
    // Modes: ioeventfd and exit at CPL 3, then the same at CPL 0.
    struct Mode {
        const char *name;
        bool doorbell, cpl3;
    } const modes[] = {{"ioeventfd", true, true}, {"exit", false, true}, {"ioeventfd", true, false},
                       {"exit", false, false}};
    constexpr int kModes = 4;

    // [mode][size] -> runs, interleaved.
    std::vector<Run> runs[kModes][2];
    for (int r = 0; r < repetitions; ++r) {
        for (int m = 0; m < kModes; ++m) {
            runs[m][0].push_back(run_vmm(scratch.path(), modes[m].doorbell, modes[m].cpl3, small));
            runs[m][1].push_back(run_vmm(scratch.path(), modes[m].doorbell, modes[m].cpl3, large));
        }
    }

    std::printf("doorbell: %llu vs %llu 4-byte writes to RING, median of %d runs each\n",
                static_cast<unsigned long long>(large), static_cast<unsigned long long>(small), repetitions);
    std::printf("%-10s %4s %12s %10s %14s  %s\n", "RING is", "CPL", "writes/s", "us/write", "IO exits (N)",
                "every write rang once");
    double rate[kModes] = {};
    for (int m = 0; m < kModes; ++m) {
        std::vector<double> t_small, t_large, exits;
        bool exact = true;
        for (const Run &run : runs[m][0]) {
            t_small.push_back(run.seconds);
            exact = exact && run.rings == small;
        }
        for (const Run &run : runs[m][1]) {
            t_large.push_back(run.seconds);
            exits.push_back(run.io_exits);
            exact = exact && run.rings == large;
        }
        const double seconds = median(t_large) - median(t_small);
        rate[m] = seconds > 0 ? static_cast<double>(large - small) / seconds : 0;
        std::printf("%-10s %4d %12.0f %10.2f %14.0f  %s\n", modes[m].name, modes[m].cpl3 ? 3 : 0, rate[m],
                    rate[m] > 0 ? 1e6 / rate[m] : 0, median(exits),
                    exact ? "yes (the device counted N, every run)" : "NO");
        if (m % 2 == 1 && rate[m] > 0)
            std::printf("ioeventfd / exit writes/s at CPL %d: %.2f\n", modes[m].cpl3 ? 3 : 0, rate[m - 1] / rate[m]);
    }
    return 0;
}
