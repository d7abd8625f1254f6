// End to end: the pc profile (configs/platforms/pc.toml) and guests that
// check its devices against their specifications: the PIT waking a
// real-mode guest through the PIC, the MC146818 RTC (update cycle, alarm,
// periodic interrupt, NVRAM) and its state across a live swap.
#include "background_vmm.hpp"
#include "control_client.hpp"
#include "e2e_support.hpp"
#include "host_tsc.hpp"
#include "run_process.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <string>

using namespace vmm::test;
using nlohmann::json;

TEST_CASE("pc: a real-mode guest in sti; hlt is woken by the PIT through the PIC", "[e2e][pc][irq]")
{
    const ProcessResult r = run_machine("pc-pit-real");
    CHECK(r.exit_status == 1); // the guest wrote 0: (0 << 1) | 1, QEMU's isa-debug-exit encoding
    CHECK(r.out == "woken by the PIT 10 times\n");
}

namespace {

// The guest's checks all passed, and its second lasted a second of the
// host's TSC (KVM passes the host's rate through).
void check_rtc_guest(const ProcessResult &r)
{
    CHECK(r.exit_status == 1); // 0 from the guest, in QEMU's encoding
    CHECK_THAT(r.out, Catch::Contains("ok: the seconds advance by one at each update\n"));
    // The guest checks UIP unless the host paused its polls for longer
    // than UIP's 244 µs (a loaded machine): then it says so.
    CHECK_THAT(r.out, Catch::Contains("ok: UIP is set before an update\n") ||
                          Catch::Contains("unverifiable: UIP never seen, but the host paused the polls"));
    CHECK_THAT(r.out, Catch::Contains("ok: the alarm interrupt sets IRQF and AF in C\n"
                                      "ok: the alarm rings at its second\n"
                                      "ok: periodic interrupts set IRQF and PF in C\n"
                                      "rtc: all checks passed\n"));
    std::smatch m;
    REQUIRE(std::regex_search(r.out, m, std::regex(R"(update: tsc_per_second=(\d+))")));
    const double measured = std::stod(m[1]) / host_tsc_hz();
    std::printf("rtc: one update period = %.4f s of host TSC\n", measured);
    // A poll is two exits of a few µs; a busy host stretches them.
    CHECK(std::fabs(measured - 1.0) < 0.1);
}

} // namespace

TEST_CASE("pc: the RTC's update cycle, alarm and periodic interrupts, checked by a guest", "[e2e][pc][rtc][irq]")
{
    const ProcessResult r = run_machine("pc-rtc");
    check_rtc_guest(r);
    // The NVRAM's memory sizes are the machine's 32 MiB (ABI 1.5 machine_info):
    // 31 MiB above 1 MiB in KiB, 16 MiB above 16 MiB in 64 KiB units.
    CHECK_THAT(r.out, Catch::Contains("nvram: above_1m_kib=31744 above_16m_64k=256 century=0x20"));
}

TEST_CASE("pc: the RTC's state survives a live swap of its plugin while the guest waits for its alarm",
          "[e2e][pc][rtc][swap]")
{
    TempDir dir("pc-rtc-swap");
    const std::string socket = (dir.path / "control.sock").string();
    BackgroundVmm background({"--config", "machines/pc-rtc.toml", "--control", socket, "--log-level", "vmm=info"});
    json swap;
    {
        ControlClient control(socket);
        REQUIRE(control.connected());
        // The update checks take about two seconds of polling (two exits a
        // poll); swap once they are done, while the alarm (set with AIE in
        // register B) is pending: a device that lost its state would never
        // ring, and the guest would sleep until the time limit.
        await_status(control, [](const json &s) { return value_at(s, "/vcpus/0/exits") > 40000; });
        swap = control.request({{"command", "swap"}, {"device", "rtc"}, {"plugin", "rtc"}});
    }
    const ProcessResult &r = background.wait();
    show(r);
    REQUIRE_THAT(swap, IsOk());
    CHECK_THAT(swap, HasAt("/state_bytes", [](const json &n) { return n.is_number_unsigned() && n > 0; }, "> 0"));
    check_rtc_guest(r);
    CHECK_THAT(r.err, Catch::Contains("device 'rtc': swapped plugin 'rtc' for 'rtc'"));
}

TEST_CASE("pc: QEMU's test device: the latch at every width, scratch MMIO, and IRQ lines counted on the PIC",
          "[e2e][pc][testdev][irq]")
{
    const ProcessResult r = run_machine("pc-testdev", {"-v"});
    CHECK(r.exit_status == 1); // the guest wrote 0 ("passed"), in QEMU's encoding
    CHECK_THAT(r.out, Catch::Contains("ok: latch: 4-byte write reads back\n"
                                      "ok: latch: 2-byte reads at offsets 0, 1, 2\n"
                                      "ok: latch: 1-byte reads at offsets 0-3\n"
                                      "ok: latch: narrow writes replace only their bytes\n"
                                      "ok: latch: the byte window at 0xe8 is the same latch\n"
                                      "ok: latch: a 4-byte write at 0xe8 reaches it\n"
                                      "ok: flush page: reads 0\n"
                                      "ok: iomem: writes of 4, 2 and 1 bytes read back\n"));
    // One rising edge per raise, on the master and on the slave PIC.
    CHECK_THAT(r.out, Catch::Contains("irq 5: 3 interrupts for 3 raises\n"));
    CHECK_THAT(r.out, Catch::Contains("irq 10: 3 interrupts for 3 raises\n"));
    CHECK_THAT(r.out, Catch::Contains("ok: a port without a line changes nothing\npc-testdev: all checks passed\n"));
    // Line 4 is COM1's: the device has none, says so once, and goes on.
    CHECK_THAT(r.err, Catch::Contains("[testdev] warning: write to port 0x2004 ignored: this device has no line 4"));
}

TEST_CASE("pc: the test device's lines follow the plan's rules: one of them on COM1's line is refused",
          "[e2e][pc][testdev][bad-input]")
{
    TempDir dir("pc-testdev-clash");
    const std::string machine = (dir.path / "clash.toml").string();
    {
        std::ofstream out(machine);
        out << "include = [\"platforms/pc.toml\"]\n[machine]\nmemory = \"2M\"\n"
               "[[device]]\nname = \"testdev\"\nplugin = \"pc-testdev\"\n"
               "irqs = [4, 3, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]\n";
    }
    const ProcessResult r = run_vmm({"--config", machine});
    show(r);
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("testdev") && Catch::Contains("com1"));
}

TEST_CASE("pc: the pc profile's port 0x80, port 0x92 and keyboard-controller reset, checked by a real-mode guest",
          "[e2e][pc][pc-misc]")
{
    // The guest checks ports 0x80, 0x92 and 0x64 and resets the machine;
    // a failed check would end it with 11, a reset that did nothing with 13.
    for (const char *machine : {"pc-reset-92", "pc-reset-64"}) {
        INFO(machine);
        const ProcessResult r = run_machine(machine, {"-v"});
        CHECK(r.exit_status == 4); // pc-misc's reset status
        CHECK_THAT(r.err, Catch::Contains("[pc-misc] info: the guest reset the machine ("));
    }
    CHECK_THAT(run_machine("pc-reset-92", {"-v"}).err, Catch::Contains("port 0x92 fast reset"));
    CHECK_THAT(run_machine("pc-reset-64", {"-v"}).err, Catch::Contains("keyboard controller command 0xfe"));
}
