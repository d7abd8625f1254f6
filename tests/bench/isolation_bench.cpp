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
// Then the exit path with an observer: the same guest with the profiler
// in-process and isolated (events batched through shared-memory rings), and
// with none, in ns per exit and their ratio.
//
// Usage: bench-isolation [N_large] [repetitions]
#include "bench_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
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

// The same guest with the profiler watching every exit, in-process or
// isolated (its events through the rings), or with no observer. Returns the
// wall time; `dropped` gets the isolated profiler's dropped-event count from
// the report (a run that dropped events did less work: it is shown).
enum class Observer { none, in_process, isolated };

double observer_run(uint64_t writes, Observer observer, uint64_t &dropped)
{
    const bench::ScratchDir dir("isolation-observer");
    const std::string machine = dir.path() + "/pio-loop-profiler.toml";
    const std::string report = dir.path() + "/report.json";
    std::string text = bench::pio_loop_machine(writes);
    if (observer != Observer::none)
        text += "[[device]]\nname = \"prof\"\nplugin = \"profiler\"\nsettings = { summary = false }\n";
    if (observer == Observer::isolated)
        text += "isolate = true\n";
    std::ofstream(machine) << text;
    const bench::VmmRun run = bench::time_vmm(machine, {"--report", report}, "/dev/null");
    if (!run.ok()) {
        std::fprintf(stderr, "bench-isolation: vmm failed (wait status %d) with the profiler\n", run.wait_status);
        std::exit(1);
    }
    std::ifstream in(report);
    const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = json.find("\"observer_events_dropped\"");
    const auto count = at == std::string::npos ? std::string::npos : json.find("\"prof\": ", at);
    if (count != std::string::npos)
        dropped += std::strtoull(json.c_str() + count + 8, nullptr, 10);
    return run.seconds;
}

void observer_comparison(uint64_t large, int repetitions)
{
    const uint64_t small = large / 10;
    const Observer kinds[] = {Observer::none, Observer::in_process, Observer::isolated};
    std::vector<double> times[3][2];
    uint64_t dropped = 0;
    for (int i = 0; i < repetitions; ++i) {
        for (int k = 0; k < 3; ++k) {
            times[k][0].push_back(observer_run(small, kinds[k], dropped));
            times[k][1].push_back(observer_run(large, kinds[k], dropped));
        }
    }
    const double n = static_cast<double>(large - small);
    double per_exit[3];
    for (int k = 0; k < 3; ++k)
        per_exit[k] = (bench::median(times[k][1]) - bench::median(times[k][0])) / n;
    std::printf("\nthe profiler watching every exit, %lu vs %lu writes, median of %d runs each\n", (unsigned long)large,
                (unsigned long)small, repetitions);
    std::printf("%-30s %12s %12s %14s\n", "", "exits/s", "us/exit", "+ns/exit");
    const char *names[] = {"no observer", "profiler in-process", "profiler isolated (rings)"};
    for (int k = 0; k < 3; ++k)
        std::printf("%-30s %12.0f %12.3f %14.1f\n", names[k], 1.0 / per_exit[k], per_exit[k] * 1e6,
                    (per_exit[k] - per_exit[0]) * 1e9);
    std::printf(
        "isolated / in-process time per exit with the profiler: %.3f; events dropped (all isolated runs): %lu\n",
        per_exit[2] / per_exit[1], (unsigned long)dropped);
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
    observer_comparison(large, repetitions);
    return 0;
}
