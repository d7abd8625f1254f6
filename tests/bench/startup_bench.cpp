// start-up benchmark: `vmm` against QEMU's microvm on the same trivial guest,
// side by side in one run.
//
// The guest is a 64 KiB ROM at the top of the 4 GiB space whose reset
// vector (0xfffffff0) writes 'A' to the debug console (port 0xE9) and 0 to
// a debug-exit port (0xF4): the whole run is start-up, one port exit and
// tear-down. Each run is a fresh process, timed from fork to wait4, which
// also gives its CPU time (user + system) and peak RSS (ru_maxrss). Runs of
// the three alternate, so drift hits all alike, in two orders, so that each
// follows each other one equally often; medians are printed, and the ratios
// vmm / QEMU.
//
// The third is the floor (bench-startup-floor, startup_floor.c): the same
// ROM run by the fewest KVM calls, from a static C program with no VMM
// around them. On a host where KVM's own set-up and tear-down dominate, it
// shows what part of vmm's time is vmm's.
//
// QEMU is used only if `qemu-system-x86_64` is on PATH (Debian package
// qemu-system-x86); this program installs nothing and says so when it is
// absent. Its machine: `-M microvm` with everything optional off, the ROM
// as `-bios`, isa-debugcon and isa-debug-exit at the same ports, KVM.
//
// Usage: bench-startup [runs (20)]
#include "bench_support.hpp"

#include <sys/resource.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace {

struct Sample {
    double wall_ms = 0;
    double cpu_ms = 0;
    double rss_kib = 0;
};

[[noreturn]] void die(const std::string &what)
{
    std::fprintf(stderr, "bench-startup: %s\n", what.c_str());
    std::exit(1);
}

// fork, exec `args` with stdout to `out`, stderr to `err`; wait4 for rusage.
Sample run(const std::vector<std::string> &args, const std::string &out, const std::string &err,
           int expected_status)
{
    std::vector<std::string> copy = args;
    std::vector<char *> argv;
    for (std::string &a : copy)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const auto start = bench::Clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int null = ::open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || null < 0 || ::dup2(o, 1) < 0 || ::dup2(e, 2) < 0 || ::dup2(null, 0) < 0)
            ::_exit(126);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    int status = 0;
    rusage usage{};
    if (pid < 0 || ::wait4(pid, &status, 0, &usage) < 0)
        die(std::string("cannot run ") + args[0]);
    Sample s;
    s.wall_ms = std::chrono::duration<double, std::milli>(bench::Clock::now() - start).count();
    s.cpu_ms = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
               (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
    s.rss_kib = static_cast<double>(usage.ru_maxrss);
    std::ifstream in(out);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    if (!WIFEXITED(status) || WEXITSTATUS(status) != expected_status || text.find('A') == std::string::npos) {
        std::ifstream e(err);
        const std::string etext((std::istreambuf_iterator<char>(e)), {});
        die(args[0] + " did not print 'A' and exit with " + std::to_string(expected_status) + " (wait status " +
            std::to_string(status) + "):\n" + text + etext);
    }
    return s;
}

std::optional<std::string> find_on_path(const std::string &name)
{
    const char *path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        const std::size_t end = dirs.find(':', start);
        const std::string dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
        const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    return std::nullopt;
}

Sample medians(const std::vector<Sample> &samples)
{
    std::vector<double> wall, cpu, rss;
    for (const Sample &s : samples) {
        wall.push_back(s.wall_ms);
        cpu.push_back(s.cpu_ms);
        rss.push_back(s.rss_kib);
    }
    return {bench::median(wall), bench::median(cpu), bench::median(rss)};
}

} // namespace

int main(int argc, char **argv)
{
    const int runs = argc > 1 ? std::atoi(argv[1]) : 20;
    if (runs < 1)
        die("usage: bench-startup [runs >= 1]");
    const bench::ScratchDir scratch("startup");
    const std::string dir = scratch.path();

    // The ROM: 'A' to port 0xE9, 0 to port 0xF4, HLT; the rest HLT too.
    std::string rom(65536, '\xf4');
    const unsigned char code[] = {0xb0, 'A', 0xe6, 0xe9, 0x30, 0xc0, 0xe6, 0xf4, 0xf4};
    rom.replace(0xfff0, sizeof code, reinterpret_cast<const char *>(code), sizeof code);
    std::ofstream(dir + "/rom.bin", std::ios::binary) << rom;
    std::ofstream(dir + "/rom.toml") << "[machine]\nmemory = \"64K\"\n[cpu]\nmode = \"reset\"\n"
                                        "[[image]]\nfile = \"rom.bin\"\nformat = \"flat\"\naddress = 0xffff0000\n"
                                        "type = \"rom\"\n"
                                        "[[device]]\nname = \"console\"\nplugin = \"console\"\n"
                                        "pio = [{ base = 0xe9, size = 1 }]\n"
                                        "[[device]]\nname = \"exit\"\nplugin = \"debug-exit\"\n"
                                        "pio = [{ base = 0xf4, size = 4 }]\n";
    const std::vector<std::string> vmm = {VMM_BENCH_VMM_BINARY, "--config", dir + "/rom.toml", "--log-level", "warn"};
    const auto qemu_binary = find_on_path("qemu-system-x86_64");
    const std::vector<std::string> qemu = {
        qemu_binary.value_or("qemu-system-x86_64"),
        "-M", "microvm,x-option-roms=off,rtc=off,pit=off,pic=off,isa-serial=off",
        "-accel", "kvm", "-m", "2M", "-nodefaults", "-no-user-config", "-nographic", "-display", "none",
        "-bios", dir + "/rom.bin",
        "-chardev", "stdio,id=out", "-device", "isa-debugcon,iobase=0xe9,chardev=out",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=4"};

    const std::vector<std::string> floor = {VMM_BENCH_FLOOR_BINARY, dir + "/rom.bin"};

    std::vector<Sample> vmm_samples, floor_samples, qemu_samples;
    auto run_vmm = [&] { vmm_samples.push_back(run(vmm, dir + "/vmm.out", dir + "/vmm.err", 0)); };
    auto run_floor = [&] { floor_samples.push_back(run(floor, dir + "/floor.out", dir + "/floor.err", 0)); };
    auto run_qemu = [&] {
        if (qemu_binary) // debug-exit's status is (value << 1) | 1
            qemu_samples.push_back(run(qemu, dir + "/qemu.out", dir + "/qemu.err", 1));
    };
    // A run is slower right after QEMU's (0.4 ms for vmm here: QEMU's exit
    // leaves the kernel work and evicts caches), so the order alternates
    // between vmm-floor-QEMU and vmm-QEMU-floor: each program follows each
    // other one equally often.
    for (int i = 0; i < runs; ++i) {
        run_vmm();
        if (i % 2 == 0) {
            run_floor();
            run_qemu();
        } else {
            run_qemu();
            run_floor();
        }
    }

    std::printf("start-up: a 64 KiB ROM at the reset vector prints 'A' and exits, median of %d runs each\n", runs);
    std::printf("%-28s %10s %10s %14s\n", "", "wall ms", "CPU ms", "peak RSS KiB");
    const Sample v = medians(vmm_samples);
    const Sample f = medians(floor_samples);
    std::printf("%-28s %10.2f %10.2f %14.0f\n", "vmm", v.wall_ms, v.cpu_ms, v.rss_kib);
    std::printf("%-28s %10.2f %10.2f %14.0f\n", "floor (raw KVM calls, C)", f.wall_ms, f.cpu_ms, f.rss_kib);
    if (!qemu_binary) {
        std::printf("QEMU: qemu-system-x86_64 is not on PATH (Debian: apt-get install qemu-system-x86); "
                    "vmm alone measured\n");
        return 0;
    }
    const Sample q = medians(qemu_samples);
    std::printf("%-28s %10.2f %10.2f %14.0f\n", "qemu-system-x86_64 microvm", q.wall_ms, q.cpu_ms, q.rss_kib);
    std::printf("vmm / QEMU: wall %.3f, CPU %.3f, peak RSS %.3f\n", v.wall_ms / q.wall_ms,
                q.cpu_ms > 0 ? v.cpu_ms / q.cpu_ms : 0.0, v.rss_kib / q.rss_kib);
    std::printf("floor / QEMU: wall %.3f; vmm above the floor: wall %+.2f ms, CPU %+.2f ms\n", f.wall_ms / q.wall_ms,
                v.wall_ms - f.wall_ms, v.cpu_ms - f.cpu_ms);
    return 0;
}
