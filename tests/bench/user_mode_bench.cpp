// user-mode benchmark: the same guests under `[cpu] mode = "long"` (CPL 0)
// and `mode = "user"` (CPL 3), side by side in one run.
//
// On hosts where KVM runs nested on kvm_pvm, CPL 0 guest code goes through
// KVM's instruction emulator while CPL 3 code runs natively; on hardware
// virtualization both run natively and the ratio is about 1.
//
//  - the compute loop (guests/user-mode/compute.S): RBX turns of a 64-bit
//    xorshift, 8 instructions a turn. Each mode runs N and N/10 turns; the
//    difference cancels start-up: ns per turn = (t(N) - t(N/10)) / (0.9 N).
//    N differs by mode (the emulated one is ~1000x slower) and is printed.
//    Every run checks the result at 0x400 (its low 32 bits: TOML integers
//    are signed) against the host's own xorshift,
//    so both modes provably ran the same loop.
//  - the SO2 64-bit guest (guests/so2/long64.c, machines/so2-long64.toml):
//    the whole vmm process, start-up included, as a user would time it.
//
// Runs are interleaved and medians taken, so drift hits both modes alike.
// Usage: bench-user-mode [turns in long mode (20000)] [repetitions (5)]
#include "bench_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

using bench::median;

[[noreturn]] void die(const std::string &what)
{
    std::fprintf(stderr, "bench-user-mode: %s\n", what.c_str());
    std::exit(1);
}

uint64_t xorshift(uint64_t turns)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint64_t i = 0; i < turns; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

double run_compute(const std::string &dir, const char *mode, uint64_t turns)
{
    const std::string machine = dir + "/compute.toml", log = dir + "/stderr.txt";
    std::ofstream(machine) << "[machine]\nmemory = \"1M\"\n"
                           << "[cpu]\nmode = \"" << mode << "\"\nregisters = { rbx = " << turns << " }\n"
                           << "[[image]]\nfile = \"" VMM_BENCH_GUEST_DIR "/user-compute.bin\"\naddress = 0x1000\n"
                           << "[[check]]\nmemory = 0x400\nwidth = 4\nequals = " << (xorshift(turns) & 0xffffffffu) << "\n";
    const bench::VmmRun vmm = bench::time_vmm(machine, {}, "/dev/null", log);
    if (!vmm.ok()) {
        std::ifstream err(log);
        die(std::string("compute loop failed in mode ") + mode + " with " + std::to_string(turns) + " turns:\n" +
            std::string((std::istreambuf_iterator<char>(err)), {}));
    }
    return vmm.seconds;
}

double run_so2(const std::string &dir, const char *mode)
{
    std::ifstream in(VMM_BENCH_CONFIGS_DIR "/machines/so2-long64.toml");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    const std::string from = "mode = \"long\"";
    if (text.find(from) == std::string::npos)
        die("machines/so2-long64.toml has no mode = \"long\"");
    text.replace(text.find(from), from.size(), std::string("mode = \"") + mode + "\"");
    const std::string machine = dir + "/so2.toml", log = dir + "/stderr.txt";
    std::ofstream(machine) << text;
    const bench::VmmRun vmm = bench::time_vmm(machine, {"--plugin-path", VMM_BENCH_PLUGIN_DIR}, "/dev/null", log);
    if (!vmm.ok())
        die(std::string("so2-long64 failed in mode ") + mode);
    return vmm.seconds;
}

} // namespace

int main(int argc, char **argv)
{
    const uint64_t long_turns = argc > 1 ? std::strtoull(argv[1], nullptr, 0) : 20000;
    const int repetitions = argc > 2 ? std::atoi(argv[2]) : 5;
    if (long_turns < 10 || repetitions < 1)
        die("usage: bench-user-mode [turns in long mode >= 10] [repetitions >= 1]");
    const uint64_t user_turns = long_turns * 10000; // enough to rise well above start-up
    bench::ScratchDir dir("user-mode");

    std::vector<double> long_big, long_small, user_big, user_small, so2_long, so2_user;
    for (int i = 0; i < repetitions; ++i) {
        long_big.push_back(run_compute(dir.path(), "long", long_turns));
        user_big.push_back(run_compute(dir.path(), "user", user_turns));
        long_small.push_back(run_compute(dir.path(), "long", long_turns / 10));
        user_small.push_back(run_compute(dir.path(), "user", user_turns / 10));
        so2_long.push_back(run_so2(dir.path(), "long"));
        so2_user.push_back(run_so2(dir.path(), "user"));
    }
    const double long_ns = (median(long_big) - median(long_small)) / (0.9 * double(long_turns)) * 1e9;
    const double user_ns = (median(user_big) - median(user_small)) / (0.9 * double(user_turns)) * 1e9;

    std::printf("compute loop (xorshift, 8 instructions a turn), N vs N/10 turns, median of %d runs each\n", repetitions);
    std::printf("%-22s %14s %12s %14s\n", "mode", "turns (N)", "ns/turn", "wall N (s)");
    std::printf("%-22s %14llu %12.2f %14.3f\n", "long (CPL 0)", static_cast<unsigned long long>(long_turns), long_ns,
                median(long_big));
    std::printf("%-22s %14llu %12.2f %14.3f\n", "user (CPL 3)", static_cast<unsigned long long>(user_turns), user_ns,
                median(user_big));
    std::printf("long / user time per turn: %.0f\n\n", long_ns / user_ns);

    std::printf("so2-long64 guest, whole vmm process (start-up included), median of %d runs each\n", repetitions);
    std::printf("%-22s %14s\n", "mode", "wall (ms)");
    std::printf("%-22s %14.2f\n", "long (CPL 0)", median(so2_long) * 1e3);
    std::printf("%-22s %14.2f\n", "user (CPL 3)", median(so2_user) * 1e3);
    std::printf("long / user wall time: %.2f\n", median(so2_long) / median(so2_user));
    return 0;
}
