// End to end: `vmm` runs the core's machines on KVM and is judged by its
// stdout, stderr and exit status.
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>
#include <vmm/plugin_abi.h>

#include <filesystem>
#include <fstream>

using namespace vmm::test;
namespace fs = std::filesystem;

namespace {

std::string test_machine(const std::string &name) { return paths::machines_dir() + "/" + name; }


} // namespace

TEST_CASE("hello.toml prints 4 and exits 0, from any working directory", "[e2e][core]")
{
    for (const std::string &dir : {std::string("/"), fs::temp_directory_path().string(), paths::source_dir()}) {
        ProcessOptions options;
        options.working_directory = dir;
        const ProcessResult r = run_vmm({"--config", "machines/hello.toml", "-v"}, options);
        show(r);
        CHECK(r.exit_status == 0);
        CHECK(r.out == "4\n");
        CHECK_THAT(r.err, Catch::Contains("vcpu 0: halted after 3 exits, last exit HLT"));
    }
}

TEST_CASE("reset-vector.toml runs from the reset vector and shows RAX = 5", "[e2e][core]")
{
    const ProcessResult r = run_vmm({"--config", "machines/reset-vector.toml", "-v"});
    show(r);
    CHECK(r.exit_status == 0);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::Contains("vcpu 0: halted after 1 exits, last exit HLT at f000:f00e, rax=0x5"));
}

TEST_CASE("string I/O and word-sized ports reach devices, and debug-exit sets the status", "[e2e][core]")
{
    const ProcessResult r = run_vmm({"--config", test_machine("string-io.toml")});
    show(r);
    CHECK(r.out == "rep outsb works\n");
    CHECK(r.exit_status == 0x34);
    CHECK_THAT(r.err, Catch::Contains("device 'exit' asked to stop with status 4660"));
}

TEST_CASE("unclaimed accesses read all ones, are logged once per address, and the guest goes on", "[e2e][core]")
{
    const ProcessResult r = run_vmm({"--config", test_machine("unhandled-io.toml")});
    show(r);
    CHECK(r.exit_status == 0xff);
    CHECK_THAT(r.err, Catch::Contains("unhandled pio read of 1 byte(s) at 0x80 reads as all ones"));
    CHECK_THAT(r.err, !Catch::Contains("unhandled pio write of 1 byte(s) at 0x80 ignored"));
    CHECK_THAT(r.err, Catch::Contains("unhandled mmio read of 1 byte(s) at 0xa0000 reads as all ones"));
    CHECK_THAT(r.err, Catch::Contains("unhandled mmio write of 2 byte(s) at 0xa0002 ignored"));
    // Port 0x80 was read twice and written once: one line for it.
    std::size_t count = 0;
    for (std::size_t at = r.err.find("at 0x80 "); at != std::string::npos; at = r.err.find("at 0x80 ", at + 1))
        ++count;
    CHECK(count == 1);
}

TEST_CASE("on a strict machine an unclaimed access is fatal, with a register report", "[e2e][core]")
{
    const ProcessResult r = run_vmm({"--config", test_machine("unhandled-io-strict.toml")});
    show(r);
    CHECK(r.exit_status == 1);
    CHECK_THAT(r.err, Catch::Contains("vcpu 0: fatal exit: unhandled port read of 1 byte(s) at 0x80 (strict machine)"));
    // rip still points at the `in` that made the access.
    CHECK_THAT(r.err, Catch::Contains("rip=0000000000001000"));
    CHECK_THAT(r.err, Catch::Contains("cs  sel=0000"));
}

TEST_CASE("a triple fault ends the VM with a report and status 1", "[e2e][core]")
{
    const ProcessResult r = run_vmm({"--config", test_machine("triple-fault.toml")});
    show(r);
    CHECK(r.exit_status == 1);
    CHECK_THAT(r.err, Catch::Contains("KVM_EXIT_SHUTDOWN: a triple fault"));
    CHECK_THAT(r.err, Catch::Contains("last exit reason SHUTDOWN"));
    CHECK_THAT(r.err, Catch::Contains("rax=0000000000001234"));
}

TEST_CASE("bad input is reported with its location and exit status 2", "[e2e][core]")
{
    const fs::path dir = fs::temp_directory_path() / ("vmm-e2e-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path bad = dir / "bad.toml";
    std::ofstream(bad) << "[machine]\nmemory = \"8K\"\n[[device]]\nname = \"com1\"\nplugin = \"serial\"\n"
                          "settings = { baud = 9600 }\n";
    ProcessResult r = run_vmm({"--config", bad.string()});
    show(r);
    CHECK(r.exit_status == 2);
    CHECK(r.err == bad.string() + ":6:21: device 'com1': plugin 'serial' has no setting 'baud' (it accepts: input, input_from)\n");

    r = run_vmm({"--config", "machines/no-such-machine.toml"});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::StartsWith("cannot find machine file machines/no-such-machine.toml"));

    r = run_vmm({"--config", bad.string(), "--log-level", "loud"});
    CHECK(r.exit_status == 2);

    r = run_vmm({});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("--config is required"));
    fs::remove_all(dir);
}

TEST_CASE("the options --plugin-path and VMM_PLUGIN_PATH are searched before the built plugins", "[e2e][core]")
{
    const fs::path dir = fs::temp_directory_path() / ("vmm-e2e-path-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path machine = dir / "m.toml";
    std::ofstream(machine) << "[machine]\nmemory = \"8K\"\n[cpu]\nentry = 0x1000\n"
                              "[[device]]\nname = \"x\"\nplugin = \"wrong-major\"\n";
    // Only found through the extra path, where it is refused by its ABI.
    ProcessResult r = run_vmm({"--config", machine.string()});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("plugin 'wrong-major' not found"));

    r = run_vmm({"--config", machine.string(), "--plugin-path", paths::fixture_dir()});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("plugin ABI 2.0 is incompatible"));

    ProcessOptions env;
    env.environment["VMM_PLUGIN_PATH"] = "/nonexistent:" + paths::fixture_dir();
    r = run_vmm({"--config", machine.string()}, env);
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("plugin ABI 2.0 is incompatible"));
    fs::remove_all(dir);
}

TEST_CASE("the options --version and --help", "[e2e][core]")
{
    ProcessResult r = run_vmm({"--version"});
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.out, Catch::StartsWith("vmm 0.1.0 (plugin ABI " + std::to_string(VMM_ABI_MAJOR) + "." +
                                        std::to_string(VMM_ABI_MINOR) + ")"));
    r = run_vmm({"--help"});
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.out, Catch::Contains("--config"));
    CHECK_THAT(r.out, Catch::Contains("--plugin-path"));
    CHECK_THAT(r.out, Catch::Contains("--log-level"));
}

TEST_CASE("a report that cannot be written is bad input, found before the guest runs", "[e2e][core]")
{
    const ProcessResult r = run_vmm({"--config", "machines/hello.toml", "--report", "/nonexistent-dir/report.json"});
    show(r);
    CHECK(r.exit_status == 2);
    CHECK(r.out.empty()); // the guest never ran
    CHECK(r.err == "cannot write the report /nonexistent-dir/report.json: No such file or directory\n");
}
