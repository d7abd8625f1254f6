// End to end: hostile inputs that do not fit the table of bad inputs
// (docs/bad-inputs.md), because they are not machine files in the
// repository: plugins with escapes in their strings, FIFOs, options.
#include "temp_dir.hpp"
#include "run_process.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

using namespace vmm::test;
namespace fs = std::filesystem;

namespace {

} // namespace

TEST_CASE("vmm plugins prints a plugin's escapes and line breaks escaped", "[e2e][hostile]")
{
    TempDir dir("plugins");
    fs::copy_file(fs::path(paths::fixture_dir()) / "vmm-escape-name.so", dir.path / "vmm-escape-name.so");
    const ProcessResult r = run_vmm({"--plugin-path", dir.path.string(), "plugins"});
    INFO(r.out << r.err);
    CHECK(r.exit_status == 0);
    CHECK(r.out.find('\x1b') == std::string::npos);
    CHECK(r.out.find('\x07') == std::string::npos);
    CHECK_THAT(r.out, Catch::Contains("esc\\x1b[31mred\\x1b[0m 0.0.1 (ABI"));
    CHECK_THAT(r.out, Catch::Contains("  line one\\nline two\\x1b]0;title\\x07\n"));
    CHECK_THAT(r.out, Catch::Contains("    key\\x1b[7m (integer): a setting\\nvmm.toml:1:1: forged\n"));
    CHECK(r.out.find("\nvmm.toml:1:1") == std::string::npos);
}

// A FIFO, a directory or a device is not "not found": say what it is, and
// never open a FIFO (the open would block until a writer came).
TEST_CASE("a FIFO or a directory given as --config or as an image is named for what it is", "[e2e][hostile]")
{
    TempDir dir("fifo");
    const fs::path fifo = dir.path / "machine.fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    ProcessOptions quick;
    quick.timeout = std::chrono::milliseconds(20000);

    ProcessResult r = run_vmm({"--config", fifo.string()}, quick);
    INFO(r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("machine file " + fifo.string() + " is a FIFO (named pipe), not a file"));

    r = run_vmm({"--config", dir.path.string()}, quick);
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("machine file " + dir.path.string() + " is a directory, not a file"));

    const fs::path machine = dir.path / "m.toml";
    std::ofstream(machine) << "[machine]\nmemory = 4096\n\n[[image]]\nfile = \"machine.fifo\"\naddress = 0\n";
    r = run_vmm({"--config", machine.string()}, quick);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains(machine.string() + ":5:8: image[0]: image file \"machine.fifo\" is a FIFO "
                                                         "(named pipe), not a file (" + fifo.string() + ")"));
}

TEST_CASE("vmm plugins ends on SIGINT even while a plugin's entry point never returns", "[e2e][hostile]")
{
    TempDir dir("plugins-slow");
    fs::copy_file(fs::path(paths::fixture_dir()) / "vmm-slow-describe.so", dir.path / "vmm-slow-describe.so");
    ProcessOptions options;
    options.timeout = std::chrono::milliseconds(20000);
    options.on_start = [](int pid) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        ::kill(pid, SIGINT);
    };
    const ProcessResult r = run_vmm({"--plugin-path", dir.path.string(), "plugins"}, options);
    INFO(r.out << r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(r.signal == SIGINT);
}

TEST_CASE("a --config path that does not exist is quoted escaped: it cannot forge a line", "[e2e][hostile]")
{
    const ProcessResult r = run_vmm({"--config", "nope\n/x.toml:1:1: forged"});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::StartsWith("cannot find machine file nope\\n/x.toml:1:1: forged (looked in"));
    CHECK(r.err.find("\n/x.toml") == std::string::npos);
}
