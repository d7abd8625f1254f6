// End to end: the SIMVIRTIO guests under `vmm` with the simvirtio plugin, in
// both notify modes (test cases with "poll" in their names run the device
// thread; CI runs those under ThreadSanitizer too).
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace vmm::test;
namespace fs = std::filesystem;

namespace {

const std::string kDemoOutput = "Ana are mere!\nHello from the SIMVIRTIO device!\n";
const std::string kHostileOutput = "Recovered: the device survived every hostile step\n";
// simvirtio-stream's repeating line (guests/simvirtio/stream.c).
const std::string kStreamLine = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.\n";

// `output`: the device's output setting, when not stdout.
std::string stream_machine(const std::string &notify, uint64_t bytes, const std::string &output = "")
{
    return "[machine]\nmemory = \"1M\"\n"
           "[cpu]\nmode = \"long\"\nregisters = { rsp = 0x100000, rbx = " +
           std::to_string(bytes) +
           " }\n"
           "[[image]]\nfile = \"simvirtio-stream.elf\"\nformat = \"elf\"\n"
           "[[device]]\nname = \"simvirtio\"\nplugin = \"simvirtio\"\n"
           "mmio = [{ base = 0xd0000000, size = 0x1000 }]\n"
           "settings = { device_table = 0x800, notify = \"" +
           notify + "\"" + (output.empty() ? std::string() : ", output = \"" + output + "\"") +
           " }\n"
           "[[device]]\nname = \"console\"\nplugin = \"console\"\npio = [{ base = 0xe9, size = 1 }]\n"
           "[[check]]\nregister = \"rax\"\nequals = 42\n";
}

bool is_stream(const std::string &out, uint64_t bytes)
{
    if (out.size() != bytes)
        return false;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i] != kStreamLine[i % kStreamLine.size()])
            return false;
    }
    return true;
}

// The MMIO exits a `vmm --report` file counts: what tells the notify modes apart.
uint64_t mmio_exits(const std::string &report)
{
    std::ifstream in(report);
    return nlohmann::json::parse(in)["exits"]["by_reason"]["MMIO"].get<uint64_t>();
}

} // namespace

namespace {

// Runs a demo machine, checks what both notify modes must show, and returns
// its MMIO exits.
uint64_t run_demo(const std::string &machine)
{
    TempDir dir;
    const std::string report = (dir.path / "report.json").string();
    const ProcessResult r = run_machine(machine, {"--report", report});
    CHECK(r.exit_status == 0);
    CHECK(r.out == kDemoOutput);
    CHECK_THAT(r.err, Catch::Contains("check rax of vcpu 0 = 0x2a: ok"));
    CHECK_THAT(r.err, Catch::Contains("check u32 at 0x400 = 0x2a: ok"));
    CHECK_THAT(r.err, !Catch::Contains("DEVICE_ERROR"));
    return mmio_exits(report);
}

} // namespace

TEST_CASE("simvirtio: the demo does the handshake, prints its message and echoes the greeting (exit mode)",
          "[e2e][simvirtio]")
{
    // Exit mode: every index access is an MMIO exit (about 140 here).
    CHECK(run_demo("simvirtio") > 100);
}

TEST_CASE("simvirtio-poll: the same demo with the control blocks in guest RAM (poll mode)", "[e2e][simvirtio]")
{
    // Only configuration and status accesses exit (about 25, a few more when
    // the device thread is slow to be scheduled); the data does not.
    CHECK(run_demo("simvirtio-poll") < 60);
}

TEST_CASE("simvirtio-doorbell: the same demo with doorbells KVM absorbs and an RX interrupt it sleeps for (doorbell mode)",
          "[e2e][simvirtio]")
{
    TempDir dir;
    const std::string report = (dir.path / "report.json").string();
    const ProcessResult r = run_machine("simvirtio-doorbell", {"--report", report, "-v"});
    CHECK(r.exit_status == 0); // debug-exit: 0 when the demo succeeded, else its step
    CHECK(r.out == kDemoOutput);
    CHECK_THAT(r.err, Catch::Contains("guest requested exit with status 0"));
    CHECK_THAT(r.err, Catch::Contains("check u32 at 0x400 = 0x2a: ok"));
    CHECK_THAT(r.err, !Catch::Contains("DEVICE_ERROR"));
    // Every TX head and RX tail is followed by a doorbell write; KVM absorbs
    // them, so only configuration and status accesses exit (about 30),
    // against ~140 in exit mode.
    CHECK(mmio_exits(report) < 60);
}

TEST_CASE("simvirtio-hostile: every bad value and out-of-order step is refused as specified (exit mode)",
          "[e2e][simvirtio]")
{
    const ProcessResult r = run_machine("simvirtio-hostile", {"-v"});
    CHECK(r.exit_status == 0); // else: the number of the first step that misbehaved
    CHECK(r.out == kHostileOutput);
    CHECK_THAT(r.err, Catch::Contains("guest requested exit with status 0"));
    for (const char *code : {"OUT_OF_ORDER", "BAD_SELECTOR", "BAD_LENGTH", "BAD_ADDRESS", "BAD_INDEX", "TABLE",
                             "BAD_DRIVER_STATUS"})
        CHECK_THAT(r.err, Catch::Contains(std::string("DEVICE_ERROR ") + code + ": "));
}

TEST_CASE("simvirtio-hostile-poll: every bad value and out-of-order step is refused as specified (poll mode)",
          "[e2e][simvirtio]")
{
    const ProcessResult r = run_machine("simvirtio-hostile-poll");
    CHECK(r.exit_status == 0);
    CHECK(r.out == kHostileOutput);
    CHECK_THAT(r.err, Catch::Contains("DEVICE_ERROR BAD_INDEX: TX head 64 >= queue length 64"));
    CHECK_THAT(r.err, Catch::Contains("DEVICE_ERROR BAD_ADDRESS: queue TX (Q0) control block"));
}

TEST_CASE("simvirtio-hostile-doorbell: every bad value and out-of-order step is refused as specified (doorbell mode)",
          "[e2e][simvirtio]")
{
    const ProcessResult r = run_machine("simvirtio-hostile-doorbell");
    CHECK(r.exit_status == 0);
    CHECK(r.out == kHostileOutput);
    // Bad indices in RAM are found when the guest rings (KVM absorbs the
    // ring; the device looks on the event loop).
    CHECK_THAT(r.err, Catch::Contains("DEVICE_ERROR BAD_INDEX: TX head 64 >= queue length 64"));
    CHECK_THAT(r.err, Catch::Contains("DEVICE_ERROR BAD_INDEX: RX tail 69 >= queue length 64"));
}

namespace {

constexpr uint64_t kStreamBytes = 300000;
constexpr uint64_t kStreamRings = (kStreamBytes + 4094) / 4095; // 4096-byte ring: 4095 bytes per round

// Streams kStreamBytes through the SIMVIRTIO device in `notify` mode,
// checks that they arrive intact, and returns the run's MMIO exits. The
// output is a file: a regular file always takes the bytes at once, so the
// exit counts are the protocol's alone (a pipe the test reads slowly would
// hold TX back, and the driver would read the tail more often).
uint64_t stream_mmio_exits(const char *notify)
{
    TempDir dir;
    const std::string out = (dir.path / "out.txt").string();
    const std::string machine = dir.write("stream.toml", stream_machine(notify, kStreamBytes, "file:" + out));
    const std::string report = (dir.path / "report.json").string();
    const ProcessResult r = run_vmm({"--config", machine, "--report", report});
    show(r);
    CHECK(r.exit_status == 0);
    CHECK(is_stream(read_file(out), kStreamBytes));
    return mmio_exits(report);
}

} // namespace

TEST_CASE("simvirtio-stream: 300000 bytes arrive intact, at about three exits per ring (exit mode)",
          "[e2e][simvirtio]")
{
    const uint64_t mmio = stream_mmio_exits("exit");
    CHECK(mmio >= 3 * kStreamRings);
    CHECK(mmio < 3 * kStreamRings + 60);
}

TEST_CASE("simvirtio-stream: 300000 bytes arrive intact without a VM exit per ring (poll mode)", "[e2e][simvirtio]")
{
    // Set-up and handshake take about 25 MMIO exits; a driver waiting for
    // room checks the status only after ~13 ms without progress.
    CHECK(stream_mmio_exits("poll") < kStreamRings);
}

TEST_CASE("simvirtio-stream: 300000 bytes arrive intact through doorbells, without a userspace exit per ring (doorbell mode)",
          "[e2e][simvirtio]")
{
    CHECK(stream_mmio_exits("doorbell") < kStreamRings);
}

TEST_CASE("simvirtio: bad settings stop the machine before it runs", "[e2e][simvirtio]")
{
    TempDir dir;
    std::string text = stream_machine("interrupt", 1);
    const ProcessResult r = run_vmm({"--config", dir.write("bad.toml", text)});
    show(r);
    CHECK(r.exit_status == 2);
    // The choices simvirtio declares (ABI 1.6), checked by vmm before the device is made.
    CHECK_THAT(r.err, Catch::Contains("device 'simvirtio': setting 'notify' = \"interrupt\" is not one of \"exit\", "
                                      "\"poll\", \"doorbell\" declared by plugin 'simvirtio'"));
    CHECK(r.out.empty());

    text = stream_machine("exit", 1);
    text.replace(text.find("notify"), 0, "output = \"unix:/nonexistent/sv.sock\", ");
    const ProcessResult output = run_vmm({"--config", dir.write("output.toml", text)});
    show(output);
    CHECK(output.exit_status == 2);
    CHECK_THAT(output.err, Catch::Contains("output: cannot connect to '/nonexistent/sv.sock'"));
}

TEST_CASE("simvirtio 1.1: without device_table and mmio lines the guest finds the device and gives it its table",
          "[e2e][simvirtio]")
{
    TempDir dir;
    std::string text = stream_machine("exit", 1000);
    for (const std::string cut : {"mmio = [{ base = 0xd0000000, size = 0x1000 }]\n", "device_table = 0x800, "})
        text.replace(text.find(cut), cut.size(), "");
    const ProcessResult r = run_vmm({"--config", dir.write("defaults.toml", text)});
    show(r);
    CHECK(r.exit_status == 0);
    CHECK(is_stream(r.out, 1000));
}
