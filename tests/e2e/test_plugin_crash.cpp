// A plugin that crashes (a wild pointer, abort(), a stack overflow) ends vmm
// with status 3, a message naming the device, the plugin, its file and the
// faulting address, and a report that says so.
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <regex>

using namespace vmm::test;

namespace {

struct Crash {
    ProcessResult result;
    nlohmann::json report;
    std::string file; // the plugin's
};

// The counter guest with a UART at 0x3f8 from `plugin`, which crashes when
// the guest reads LSR.
Crash run_crashing(const std::string &plugin)
{
    TempDir dir("plugin-crash");
    const std::string machine =
        dir.write("m.toml", "[machine]\nname = \"crashing\"\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\n"
                            "registers = { rbx = 10 }\n[[image]]\nfile = \"counter.elf\"\n"
                            "[[device]]\nname = \"uart\"\nplugin = \"" +
                                plugin + "\"\n");
    const std::string report = dir.write("report.json", "{\"exit_status\": 0}\n"); // a previous run's
    Crash crash;
    crash.result = run_vmm({"--config", machine, "--plugin-path", paths::fixture_dir(), "--report", report});
    show(crash.result);
    crash.report = nlohmann::json::parse(read_file(report));
    crash.file = paths::fixture_dir() + "/vmm-" + plugin + ".so";
    return crash;
}

void check_named(const Crash &crash, const std::string &plugin, const std::string &what)
{
    const std::string where = "device 'uart' (plugin '" + plugin + "', " + crash.file + ", in read) crashed: " + what;
    CHECK(crash.result.signal == 0);
    CHECK(crash.result.exit_status == 3);
    CHECK_THAT(crash.result.err, Catch::StartsWith("vmm: " + where) || Catch::Contains("\nvmm: " + where));
    CHECK(crash.report["machine"] == "crashing");
    CHECK(crash.report["exit_status"] == 3);
    CHECK(crash.report["stop"]["cause"] == "plugin crashed");
    CHECK_THAT(crash.report["stop"]["reason"].get<std::string>(), Catch::StartsWith(where));
}

} // namespace

TEST_CASE("a plugin that segfaults: status 3, device, plugin, file and address named, report written",
          "[e2e][crash]")
{
    const Crash crash = run_crashing("crash-segv");
    check_named(crash, "crash-segv", "SIGSEGV accessing 0x10 at pc 0x");
    // The faulting instruction as an offset into the plugin's file.
    CHECK(std::regex_search(crash.result.err, std::regex("at pc 0x[0-9a-f]+ \\(" + crash.file + "\\+0x[0-9a-f]+\\)")));
}

TEST_CASE("a plugin that aborts: status 3, device and plugin named, report written", "[e2e][crash]")
{
    const Crash crash = run_crashing("crash-abort");
    check_named(crash, "crash-abort", "SIGABRT (abort() was called) at pc 0x");
}

TEST_CASE("a plugin that recurses until its stack overflows: caught on the alternate stack, status 3",
          "[e2e][crash]")
{
    const Crash crash = run_crashing("crash-recurse");
    check_named(crash, "crash-recurse", "SIGSEGV accessing 0x");
    CHECK(std::regex_search(crash.result.err, std::regex("at pc 0x[0-9a-f]+ \\(" + crash.file + "\\+0x[0-9a-f]+\\)")));
}
