// Every bundled machine (configs/machines/) that ends on its own is run, and
// must give its known output and exit status: the README points users at
// them. A machine that cannot end on its own (it waits for input, or runs
// until stopped) is listed in kNotRun with the reason, and is only checked
// not to be refused or crash within a few seconds. A machine in neither
// list (one added later) gets that same short check and a warning.
#include "temp_dir.hpp"
#include "run_process.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

using namespace vmm::test;
namespace fs = std::filesystem;

namespace {

struct Expected {
    std::vector<std::string> out; // each must appear on stdout
    std::vector<std::string> err; // each must appear on stderr
    int status = 0;
};

const std::map<std::string, Expected> kRun = {
    {"hello.toml", {{"4\n"}, {"rax=0xa"}, 0}},
    {"reset-vector.toml", {{}, {"last exit HLT at f000:f00e, rax=0x5"}, 0}},
    {"so2-real16.toml", {{}, {"check rax of vcpu 0 = 0x2a: ok", "check u16 at 0x400 = 0x2a: ok"}, 0}},
    {"so2-long64.toml", {{"Hello, world!"}, {"check rax of vcpu 0 = 0x2a: ok"}, 0}},
    {"protected32.toml", {{"Hello from 32-bit protected mode\n"}, {}, 0}},
    {"port-trace.toml", {{}, {"[trace] info: out  port+0x0 (region 0) size 2 value 0x0002", "= 0x2: ok"}, 0}},
    {"smp.toml", {{"vcpu 0\n", "vcpu 1\n", "vcpu 2\n", "vcpu 3\n"}, {}, 0}},
    {"smp-irqchip.toml", {{"all 3 APs up"}, {}, 0}},
    {"multiboot.toml", {{"cmdline: hello from the machine file", "mem_upper: 3072 KiB"}, {}, 0}},
    // The README's swap example streams 20,000 lines (rbx) and halts.
    {"counter.toml", {{"0\n1\n2\n3\n", "\n19999\n"}, {"every vCPU halted"}, 0}},
    {"simvirtio.toml", {{"Ana are mere!\nHello from the SIMVIRTIO device!\n"}, {}, 0}},
    {"simvirtio-poll.toml", {{"Ana are mere!\nHello from the SIMVIRTIO device!\n"}, {}, 0}},
    {"simvirtio-hostile.toml", {{"Recovered: the device survived every hostile step"}, {}, 0}},
    {"simvirtio-hostile-poll.toml", {{"Recovered: the device survived every hostile step"}, {}, 0}},
    {"simvirtio-doorbell.toml", {{"Ana are mere!\nHello from the SIMVIRTIO device!\n"}, {"asked to stop with status 0"}, 0}},
    {"simvirtio-hostile-doorbell.toml", {{"Recovered: the device survived every hostile step"}, {}, 0}},
    {"exit-counts.toml", {{}, {"exits by device: ports=10 regs=6 unhandled=5"}, 0}},
    {"exit-counts-trace.toml", {{}, {"23 exits traced"}, 0}},
    {"hypercall.toml", {{"vcpu_info(0) = 0\nvcpu_info(1) = 0\nvcpu_info(7) = -1\n"}, {}, 0}},
    {"cpuid-brand.toml", {{"brand: Introspection Virtual CPU @ 3.14GHz", "signature \"VMMintrospec\""}, {}, 0}},
    // 200 PIT ticks at 100 Hz: about 2 s (test_device_runtime.cpp checks the rate).
    {"timer.toml", {{"ticks=200 tsc="}, {"asked to stop with status 0"}, 0}},
    {"irq-count.toml", {{}, {"check u32 at 0x400 = 0x64: ok"}, 0}},
    {"pc-fwcfg.toml", {{"fw_cfg: all checks passed\n", "host-file: a file from the host, served by fw_cfg\n"}, {"check u16 at 0x500 = 0x2: ok"}, 1}},
    // The pc profile (test_pc_platform.cpp checks them in detail): its
    // debug-exit has QEMU's encoding, so a guest's 0 ("passed") exits with 1.
    {"pc-pit-real.toml", {{"woken by the PIT 10 times"}, {}, 1}},
    {"pc-rtc.toml", {{"rtc: all checks passed"}, {}, 1}},
    {"pc-testdev.toml", {{"pc-testdev: all checks passed"}, {}, 1}},
    // pc-misc: the guest resets the machine, which ends the VM with status 4.
    {"pc-reset-92.toml", {{}, {}, 4}},
    {"pc-reset-64.toml", {{}, {}, 4}},
    // ACPI (plugins/acpi-pm, docs/acpi.md; test_acpi.cpp checks more).
    {"pc-acpi.toml", {{"lapics=2 ", " ok\n"}, {}, 0}},
    {"pc-acpi-pmtimer.toml", {{"pmtimer: ticks="}, {}, 0}},
    {"pc-acpi-s3-rtc.toml", {{"s3: RAM kept, WAK_STS set: ok\n"}, {"interrupt line 8 rose"}, 0}},
    {"pc-acpi-sci.toml", {{"sci: line=9 pwrbtn=1 tmr=1 "}, {}, 0}},
    {"pc-acpi-s5.toml", {{"s5: slp_typ=0 powering off\n"}, {"guest entered S5"}, 0}},
};

// Machines that do not end on their own, and why.
const std::map<std::string, std::string> kNotRun = {
    {"echo.toml", "it answers lines from stdin until one is \"quit\" (test_device_runtime.cpp types them)"},
    {"pc-acpi-s3.toml", "it sleeps in S3 until a control-socket wake (test_acpi.cpp sends it)"},
};

} // namespace

TEST_CASE("every bundled machine that ends on its own gives its output and exit status", "[e2e][bundled]")
{
    const fs::path dir = fs::path(paths::configs_dir()) / "machines";
    TempDir work("bundled");
    int run = 0;
    for (const auto &entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ".toml")
            continue;
        const std::string name = entry.path().filename().string();
        ProcessOptions options;
        options.working_directory = work.path.string();
        const auto expected = kRun.find(name);
        if (expected == kRun.end()) {
            // Listed as not ending on its own, or new: only a short run, which
            // must not be refused, crash or fail.
            const auto reason = kNotRun.find(name);
            if (reason == kNotRun.end())
                WARN(name << " is a bundled machine this test does not know: add it to kRun (or kNotRun, with why)");
            else
                INFO(name << " is not run to its end: " << reason->second);
            // vmm's own --timeout stops it (status 124), so that its clean
            // stop is checked too; the test's limit (SIGKILL) only backs it up.
            options.timeout = std::chrono::milliseconds(20000);
            const ProcessResult r = run_vmm({"--config", entry.path().string(), "--timeout", "3"}, options);
            INFO(name << "\nstderr:\n" << r.err);
            CHECK_FALSE(r.timed_out);
            CHECK(r.signal == 0);
            CHECK((r.exit_status == 0 || r.exit_status == 124));
            continue;
        }
        ++run;
        options.timeout = std::chrono::milliseconds(60000);
        // -v: the vCPUs' end states are among what is checked.
        const ProcessResult r = run_vmm({"--config", entry.path().string(), "-v"}, options);
        INFO(name << "\nstdout (start):\n" << r.out.substr(0, 2000) << "\nstderr:\n" << r.err);
        CHECK_FALSE(r.timed_out);
        CHECK(r.signal == 0);
        CHECK(r.exit_status == expected->second.status);
        for (const std::string &text : expected->second.out)
            CHECK_THAT(r.out, Catch::Contains(text));
        for (const std::string &text : expected->second.err)
            CHECK_THAT(r.err, Catch::Contains(text));
    }
    // Every machine this test knows still exists (a rename would skip it).
    for (const auto &[name, expected] : kRun) {
        INFO(name);
        CHECK(fs::exists(dir / name));
    }
    CHECK(run == static_cast<int>(kRun.size()));
}
