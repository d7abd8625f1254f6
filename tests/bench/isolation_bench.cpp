// isolation benchmark: port-access round trips per second for the same
// plugin (serial) in-process and isolated (docs/isolation.md), in one run,
// and their ratio. The goal: isolated costs at most 1.5x an
// in-process access on this host, where one exit costs ~9 us.
//
// Both run the pio-loop guest (N `out` instructions to the UART, then HLT),
// with N_small and N_large writes; the difference divided by the difference
// in N cancels start-up (for isolated: the child's spawn and create). The
// four runs are interleaved so that drift on a shared machine hits all
// alike; each figure is a median.
//
// Usage: bench-isolation [N_large] [repetitions]
#include "bench_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

double vmm_run(uint64_t writes, bool isolated)
{
    const bench::ScratchDir dir("isolation");
    const std::string machine = dir.path() + "/pio-loop.toml";
    std::string text = bench::pio_loop_machine(writes);
    if (isolated)
        text += "isolate = true\n";
    std::ofstream(machine) << text;
    const bench::VmmRun run = bench::time_vmm(machine, {}, "/dev/null");
    if (!run.ok()) {
        std::fprintf(stderr, "bench-isolation: vmm failed (wait status %d)%s\n", run.wait_status,
                     isolated ? " with the device isolated" : "");
        std::exit(1);
    }
    return run.seconds;
}

} // namespace

int main(int argc, char **argv)
{
    const uint64_t large = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 50000;
    const int repetitions = argc > 2 ? std::atoi(argv[2]) : 3;
    const uint64_t small = large / 10;

    std::vector<double> in_small, in_large, iso_small, iso_large;
    for (int i = 0; i < repetitions; ++i) {
        in_small.push_back(vmm_run(small, false));
        iso_small.push_back(vmm_run(small, true));
        in_large.push_back(vmm_run(large, false));
        iso_large.push_back(vmm_run(large, true));
    }
    const double n = static_cast<double>(large - small);
    const double in_process = (bench::median(in_large) - bench::median(in_small)) / n;
    const double isolated = (bench::median(iso_large) - bench::median(iso_small)) / n;

    std::printf("serial port writes, %lu vs %lu writes, median of %d runs each\n", (unsigned long)large,
                (unsigned long)small, repetitions);
    std::printf("%-28s %14s %14s\n", "", "accesses/s", "us/access");
    std::printf("%-28s %14.0f %14.3f\n", "in-process", 1.0 / in_process, in_process * 1e6);
    std::printf("%-28s %14.0f %14.3f\n", "isolated (vmm-device-host)", 1.0 / isolated, isolated * 1e6);
    std::printf("isolated / in-process time per access: %.3f (goal <= 1.5; isolation adds %.3f us)\n",
                isolated / in_process, (isolated - in_process) * 1e6);
    return 0;
}
