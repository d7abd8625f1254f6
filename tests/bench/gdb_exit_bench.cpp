// What the GDB stub costs on the exit path: the port-write loop of
// bench-exit-loop through this vmm without --gdb, with --gdb and no
// debugger attached (the stub listens, the vCPU loop has its hook), and,
// when a baseline vmm is given (say one built from main, without the stub),
// through that one too; interleaved, side by side in one run.
//
//   bench-gdb-exit [N] [runs] [BASELINE_VMM]
#include "bench_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

// Seconds for one whole vmm process running `writes` exits.
double run(const std::string &binary, uint64_t writes, const std::vector<std::string> &extra)
{
    const bench::ScratchDir dir("gdb-exit");
    const std::string machine = dir.path() + "/pio-loop.toml";
    std::ofstream(machine) << bench::pio_loop_machine(writes);
    std::vector<std::string> args{binary, "--config", machine, "--log-level", "warn"};
    for (const std::string &e : extra)
        args.push_back(e == "SOCKET" ? dir.path() + "/gdb.sock" : e);
    std::vector<char *> argv;
    for (std::string &a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const auto start = bench::Clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "bench-gdb-exit: %s failed (status %d)\n", binary.c_str(), status);
        std::exit(1);
    }
    return std::chrono::duration<double>(bench::Clock::now() - start).count();
}

struct Variant {
    std::string label;
    std::string binary;
    std::vector<std::string> extra;
    std::vector<double> small, large;
};

} // namespace

int main(int argc, char **argv)
{
    const uint64_t large = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
    const int repetitions = argc > 2 ? std::atoi(argv[2]) : 5;
    const uint64_t small = large / 10;
    std::vector<Variant> variants;
    if (argc > 3)
        variants.push_back({"baseline (" + std::string(argv[3]) + ")", argv[3], {}, {}, {}});
    variants.push_back({"vmm without --gdb", VMM_BENCH_VMM_BINARY, {}, {}, {}});
    variants.push_back({"vmm --gdb, no debugger", VMM_BENCH_VMM_BINARY, {"--gdb", "SOCKET"}, {}, {}});
    for (int i = 0; i < repetitions; ++i) {
        for (Variant &v : variants) {
            v.small.push_back(run(v.binary, small, v.extra));
            v.large.push_back(run(v.binary, large, v.extra));
        }
    }
    std::printf("port-write exits, %lu vs %lu writes, median of %d runs each\n", (unsigned long)large,
                (unsigned long)small, repetitions);
    std::printf("%-40s %12s %10s %8s\n", "", "exits/s", "us/exit", "ratio");
    const double n = static_cast<double>(large - small);
    double reference = 0;
    for (const Variant &v : variants) {
        const double per_exit = (bench::median(v.large) - bench::median(v.small)) / n;
        if (reference == 0)
            reference = per_exit;
        std::printf("%-40s %12.0f %10.3f %8.3f\n", v.label.c_str(), 1.0 / per_exit, per_exit * 1e6,
                    per_exit / reference);
    }
    return 0;
}
