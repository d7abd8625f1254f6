// simvirtio benchmark: guest -> host streaming through the SIMVIRTIO device
// in its three notify modes (exit, poll, doorbell) and with a 4 KiB and a
// 64 KiB ring, side by side in one run.
//
// The guest's data path runs at CPL 3 by default (`[cpu] mode = "user"`:
// the same simvirtio-stream binary, started in user mode), so that on a
// host where KVM emulates CPL 0 (nested on kvm_pvm, as here) the guest's
// memory copies run natively and the figures measure the transport, not
// KVM's instruction emulator. `cpl0` runs it in long mode instead, `both`
// does both.
//
// Each run is a whole `vmm` process on the simvirtio-stream guest, which
// does the handshake and sends RBX bytes through TX (bulk pushes as large
// as the ring, then a flush); vmm's stdout goes to /dev/null. Every
// measurement is taken at two sizes, N and N/8, and the difference cancels
// start-up (process, VM, handshake, the guest's own set-up): bytes/s is
// (N - N/8) / (t(N) - t(N/8)), exits per KiB likewise from `vmm --report`
// (exits.total). Runs are interleaved and the medians taken, so drift hits
// both modes alike. Only ratios measured side by side mean anything on
// shared, nested machines.
//
// Usage: bench-simvirtio [MiB (16)] [repetitions (3)] [cpl3|cpl0|both (cpl3)] [queue length (both 4096 and 65535)]
#include "bench_support.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

using bench::median;

[[noreturn]] void die(const std::string &what)
{
    std::fprintf(stderr, "bench-simvirtio: %s\n", what.c_str());
    std::exit(1);
}

struct Run {
    double seconds = 0;
    double exits = 0;
    double mmio_exits = 0;
};

// One whole vmm process streaming `bytes` in `notify` mode, the guest in
// `cpu_mode` ("user": CPL 3; "long": CPL 0).
Run run_vmm(const std::string &dir, const std::string &notify, uint64_t bytes, unsigned queue_length,
            const std::string &cpu_mode)
{
    const std::string machine = dir + "/stream.toml";
    const std::string report = dir + "/report.json";
    const std::string log = dir + "/stderr.txt";
    std::ofstream(machine) << "[machine]\nmemory = \"1M\"\n"
                           << "[cpu]\nmode = \"" << cpu_mode << "\"\nregisters = { rsp = 0x100000, rbx = " << bytes << " }\n"
                           << "[[image]]\nfile = \"" VMM_BENCH_GUEST_DIR "/simvirtio-stream.elf\"\nformat = \"elf\"\n"
                           << "[[device]]\nname = \"simvirtio\"\nplugin = \"simvirtio\"\n"
                           << "mmio = [{ base = 0xd0000000, size = 0x1000 }]\n"
                           << "settings = { device_table = 0x800, notify = \"" << notify
                           << "\", max_queue_length = " << queue_length << " }\n"
                           << "[[check]]\nregister = \"rax\"\nequals = 42\n";
    const bench::VmmRun vmm = bench::time_vmm(machine, {"--report", report}, "/dev/null", log);
    if (!vmm.ok()) {
        std::ifstream in(log);
        const std::string text((std::istreambuf_iterator<char>(in)), {});
        die("vmm failed (status " + std::to_string(vmm.wait_status) + ", notify = " + notify + ", " +
            std::to_string(bytes) + " bytes):\n" + text);
    }
    Run run;
    run.seconds = vmm.seconds;
    std::ifstream in(report);
    const nlohmann::json j = nlohmann::json::parse(in);
    run.exits = j["exits"]["total"].get<double>();
    run.mmio_exits = j["exits"]["by_reason"].value("MMIO", 0.0);
    return run;
}

struct Figures {
    double bytes_per_second = 0;
    double exits_large = 0; // total exits of a run with N bytes
    double exits_per_kib = 0;
    double us_per_kib = 0;
};

// One table: every notify mode at one ring size and CPL, runs interleaved.
void measure(const std::string &dir, uint64_t mib, int repetitions, unsigned queue_length, const std::string &cpu_mode)
{
    const uint64_t large = mib << 20;
    const uint64_t small = large / 8;
    constexpr int kModes = 3;
    const char *modes[kModes] = {"exit", "poll", "doorbell"};

    // [mode][size] -> runs, interleaved so that drift hits every mode alike.
    std::vector<Run> runs[kModes][2];
    for (int r = 0; r < repetitions; ++r) {
        for (int m = 0; m < kModes; ++m) {
            runs[m][0].push_back(run_vmm(dir, modes[m], small, queue_length, cpu_mode));
            runs[m][1].push_back(run_vmm(dir, modes[m], large, queue_length, cpu_mode));
        }
    }

    Figures figures[kModes];
    const double delta_bytes = static_cast<double>(large - small);
    for (int m = 0; m < kModes; ++m) {
        auto field = [&](int size, double Run::*member) {
            std::vector<double> values;
            for (const Run &run : runs[m][size])
                values.push_back(run.*member);
            return median(values);
        };
        const double seconds = field(1, &Run::seconds) - field(0, &Run::seconds);
        const double exits = field(1, &Run::exits) - field(0, &Run::exits);
        figures[m].bytes_per_second = seconds > 0 ? delta_bytes / seconds : 0;
        figures[m].exits_large = field(1, &Run::exits);
        figures[m].exits_per_kib = exits / (delta_bytes / 1024);
        figures[m].us_per_kib = seconds * 1e6 / (delta_bytes / 1024);
    }

    std::printf("simvirtio streaming guest -> host at CPL %s, %llu MiB vs %llu KiB, ring of %u bytes, stdout to "
                "/dev/null, median of %d runs each\n",
                cpu_mode == "user" ? "3 (mode = \"user\")" : "0 (mode = \"long\")", static_cast<unsigned long long>(mib),
                static_cast<unsigned long long>(small >> 10), queue_length, repetitions);
    std::printf("%-18s %12s %12s %16s %12s\n", "", "MB/s", "us/KiB", "exits (N MiB)", "exits/KiB");
    for (int m = 0; m < kModes; ++m)
        std::printf("notify = %-9s %12.2f %12.1f %16.0f %12.4f\n", modes[m], figures[m].bytes_per_second / 1e6,
                    figures[m].us_per_kib, figures[m].exits_large, figures[m].exits_per_kib);
    if (figures[0].bytes_per_second > 0)
        std::printf("poll / exit throughput: %.2f   doorbell / exit throughput: %.2f\n\n",
                    figures[1].bytes_per_second / figures[0].bytes_per_second,
                    figures[2].bytes_per_second / figures[0].bytes_per_second);
    std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv)
{
    const uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 16;
    const int repetitions = argc > 2 ? std::atoi(argv[2]) : 3;
    const std::string cpl = argc > 3 ? argv[3] : "cpl3";
    const unsigned only_length = argc > 4 ? static_cast<unsigned>(std::atoi(argv[4])) : 0;
    if (mib == 0 || repetitions < 1 || (cpl != "cpl3" && cpl != "cpl0" && cpl != "both") ||
        (argc > 4 && (only_length < 2 || only_length > 65535)))
        die("usage: bench-simvirtio [MiB >= 1] [repetitions >= 1] [cpl3|cpl0|both] [queue length 2..65535]");
    const bench::ScratchDir scratch("simvirtio");
    std::vector<std::string> cpu_modes;
    if (cpl != "cpl0")
        cpu_modes.push_back("user");
    if (cpl != "cpl3")
        cpu_modes.push_back("long");
    std::vector<unsigned> lengths = only_length ? std::vector<unsigned>{only_length} : std::vector<unsigned>{4096, 65535};
    for (const std::string &cpu_mode : cpu_modes)
        for (unsigned length : lengths)
            measure(scratch.path(), mib, repetitions, length, cpu_mode);
    return 0;
}
