// The device runtime (ABI 1.4) in a real VM: timers delivered by the event
// loop, the phases in which services are refused, and a refused realize
// reported as bad input before any guest code runs.
#include "e2e_support.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace vmm::test;

namespace {

// hello.bin on an irqchip machine: it prints "4" and halts, and with an
// irqchip a halted vCPU waits for an interrupt, so only a device can end it.
std::string probe_machine(const std::string &settings)
{
    return "[machine]\nmemory = \"8K\"\nirqchip = true\n"
           "[cpu]\nmode = \"real\"\nentry = 0x1000\nregisters = { rax = 2, rbx = 2 }\n"
           "[[image]]\nfile = \"hello.bin\"\naddress = 0x1000\n"
           "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n"
           "[[device]]\nname = \"rp\"\nplugin = \"runtime-probe\"\npio = [{ base = 0x500, size = 16 }]\n"
           "settings = { " +
           settings + " }\n";
}

ProcessResult run_probe(const TempDir &dir, const std::string &settings)
{
    const std::string machine = dir.write("m.toml", probe_machine(settings));
    ProcessResult r = run_vmm({"--config", machine, "--plugin-path", paths::fixture_dir(), "--timeout", "20",
                                 "--log-level", "rp=info"}); // the probe's own lines, at info
    show(r);
    return r;
}

} // namespace

TEST_CASE("a device's timers run on the event loop while the guest waits in HLT, and one can stop the VM",
          "[e2e][runtime]")
{
    TempDir dir("runtime-timer");
    const ProcessResult r = run_probe(dir, "stop_after_ms = 100, ticks = true");
    CHECK(r.exit_status == 7);
    CHECK(r.out == "4\n");
    CHECK_THAT(r.err, Catch::Contains("device 'rp' asked to stop with status 7"));
    // A 1 ms periodic timer over the 100 ms before the stop: some ticks,
    // and no more than the wall time allows (not a timing test: a loaded
    // host delivers fewer callbacks, never more expirations).
    const auto at = r.err.find("[rp] info: ticks: ");
    REQUIRE(at != std::string::npos);
    const unsigned long ticks = std::stoul(r.err.substr(at + 18));
    CHECK(ticks >= 1);
    CHECK(ticks <= 20000);
}

TEST_CASE("runtime services called before realize or from destroy are refused with a line naming them",
          "[e2e][runtime]")
{
    TempDir dir("runtime-phases");
    const ProcessResult r = run_probe(dir, "stop_after_ms = 10, early_service = true, late_service = true");
    CHECK(r.exit_status == 7);
    CHECK_THAT(r.err, Catch::Contains("[rp] error: plugin 'runtime-probe' called timer_create before realize: "
                                      "refused (runtime services work from realize until destroy)\n"));
    CHECK_THAT(r.err, Catch::Contains("[rp] info: timer_create from create: status -5\n"));
    CHECK_THAT(r.err, Catch::Contains("[rp] error: plugin 'runtime-probe' called timer_create during or after "
                                      "destroy: refused"));
    CHECK_THAT(r.err, Catch::Contains("[rp] info: timer_create from destroy: status -5\n"));
}

TEST_CASE("a doorbell outside the device's region fails realize: bad input, before the guest runs",
          "[e2e][runtime]")
{
    TempDir dir("runtime-doorbell");
    const ProcessResult r = run_probe(dir, "doorbell_offset = 14, doorbell_size = 4");
    CHECK(r.exit_status == 2);
    CHECK(r.out.empty()); // hello.bin never ran
    const std::string plugin = paths::fixture_dir() + std::string("/vmm-runtime-probe.so");
    // The plugin's own lines come first, as for a failed create.
    CHECK_THAT(r.err, Catch::EndsWith("\n" + (dir.path / "m.toml").string() + ":14:1: device 'rp' (plugin 'runtime-probe', " +
                                        plugin + "): doorbell_add: 4 byte(s) at offset 0xe lie outside region 0 (pio "
                                                 "0x10 bytes); realize failed: doorbell_add refused by the host "
                                                 "(status -3)\n"));
}

TEST_CASE("a doorbell of a size KVM cannot match fails realize", "[e2e][runtime]")
{
    TempDir dir("runtime-doorbell-size");
    const ProcessResult r = run_probe(dir, "doorbell_offset = 0, doorbell_size = 8");
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("): doorbell_add: a doorbell of 8 bytes in a pio region (sizes: 1, 2, 4); "
                                      "realize failed: doorbell_add refused by the host (status -2)\n"));
}

TEST_CASE("a valid doorbell is registered with KVM and the machine runs", "[e2e][runtime]")
{
    TempDir dir("runtime-doorbell-ok");
    const ProcessResult r = run_probe(dir, "doorbell_offset = 4, doorbell_size = 4, stop_after_ms = 10");
    CHECK(r.exit_status == 7);
    CHECK(r.out == "4\n");
}
