// Isolated devices (docs/isolation.md): the bundled machines give the same
// output and status with every device isolated; a plugin that segfaults,
// exits, spins or opens a file is named and handled under each on_crash
// policy; a plugin that cannot be isolated is refused as bad input.
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

using namespace vmm::test;
namespace fs = std::filesystem;

namespace {

// `machine`'s text with `[machine] isolate = true`: every device isolated.
std::string isolated(const std::string &machine)
{
    const auto at = machine.find("[machine]\n");
    REQUIRE(at != std::string::npos);
    std::string text = machine;
    text.insert(at + 10, "isolate = true\n");
    return text;
}

struct Expected {
    std::vector<std::string> out;
    std::vector<std::string> err;
    int status = 0;
};

// Bundled machines whose devices can all be isolated (hypercall, which reads
// vCPU registers, cannot; the observers are in test_isolated_observers.cpp),
// with what they must give.
const std::map<std::string, Expected> kIsolated = {
    {"hello.toml", {{"4\n"}, {"rax=0xa"}, 0}},
    {"so2-long64.toml", {{"Hello, world!"}, {"check rax of vcpu 0 = 0x2a: ok"}, 0}},
    {"protected32.toml", {{"Hello from 32-bit protected mode\n"}, {}, 0}},
    {"port-trace.toml", {{}, {"[trace] info: out  port+0x0 (region 0) size 2 value 0x0002", "= 0x2: ok"}, 0}},
    {"smp.toml", {{"vcpu 0\n", "vcpu 1\n", "vcpu 2\n", "vcpu 3\n"}, {}, 0}},
    {"multiboot.toml", {{"cmdline: hello from the machine file", "mem_upper: 3072 KiB"}, {}, 0}},
    {"simvirtio.toml", {{"Ana are mere!\nHello from the SIMVIRTIO device!\n"}, {}, 0}},
    {"simvirtio-poll.toml", {{"Ana are mere!\nHello from the SIMVIRTIO device!\n"}, {}, 0}},
    {"simvirtio-hostile.toml", {{"Recovered: the device survived every hostile step"}, {}, 0}},
    {"irq-count.toml", {{}, {"check u32 at 0x400 = 0x64: ok"}, 0}},
    {"timer.toml", {{"ticks=200 tsc="}, {"asked to stop with status 0"}, 0}},
};

} // namespace

TEST_CASE("bundled machines with every device isolated: same output, same status", "[e2e][isolation]")
{
    TempDir work("isolated-bundled");
    for (const auto &[name, expected] : kIsolated) {
        const fs::path original = fs::path(paths::configs_dir()) / "machines" / name;
        const std::string machine = work.write(name, isolated(read_file(original.string())));
        ProcessOptions options;
        options.working_directory = work.path.string();
        options.timeout = std::chrono::milliseconds(60000);
        // -v: the isolation lines and the vCPUs' end states are checked.
        const ProcessResult in_process = run_vmm({"--config", original.string(), "-v"}, options);
        const ProcessResult r = run_vmm({"--config", machine, "-v"}, options);
        INFO(name << "\nstdout (start):\n" << r.out.substr(0, 2000) << "\nstderr:\n" << r.err.substr(0, 4000));
        CHECK_FALSE(r.timed_out);
        CHECK(r.signal == 0);
        CHECK(r.exit_status == expected.status);
        CHECK(r.exit_status == in_process.exit_status);
        CHECK_THAT(r.err, Catch::Contains("isolated: plugin '"));
        CHECK_THAT(r.err, Catch::Contains("sandboxed"));
        for (const std::string &text : expected.out)
            CHECK_THAT(r.out, Catch::Contains(text));
        for (const std::string &text : expected.err)
            CHECK_THAT(r.err, Catch::Contains(text));
        if (name != "smp.toml" && name != "timer.toml") // vCPU order / the TSC vary between runs
            CHECK(r.out == in_process.out);
    }
}

namespace {

// The counter guest (10 lines) with its UART from `plugin`, isolated under
// `policy`.
ProcessResult run_crashing(const std::string &plugin, const std::string &policy, TempDir &dir)
{
    const std::string machine =
        dir.write(plugin + "-" + policy + ".toml",
                  "[machine]\nname = \"crashing\"\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\n"
                  "registers = { rbx = 10 }\n[[image]]\nfile = \"counter.elf\"\n"
                  "[[device]]\nname = \"uart\"\nplugin = \"" +
                      plugin + "\"\nisolate = true\non_crash = \"" + policy + "\"\n");
    ProcessOptions options;
    options.timeout = std::chrono::milliseconds(30000);
    return run_vmm({"--config", machine, "--plugin-path", paths::fixture_dir(), "--report", (dir.path / "report.json").string()},
                   options);
}

} // namespace

TEST_CASE("an isolated plugin that crashes is named and handled under each on_crash policy", "[e2e][isolation]")
{
    TempDir dir("isolated-crash");
    const std::map<std::string, std::string> kHow = {
        {"crash-segv", "killed by SIGSEGV"},
        {"crash-abort", "killed by SIGABRT"},
        {"crash-exit", "exited with status 77"},
        {"crash-spin", "killed by SIGKILL (by vmm: it did not answer a read of 1 byte(s) at region 0 offset 0x5 "
                       "within 500 ms)"},
        {"crash-open", "killed by SIGSYS: the sandbox refused openat(\"/etc/passwd\")"},
    };
    for (const auto &[plugin, how] : kHow) {
        const std::string file = paths::fixture_dir() + "/vmm-" + plugin + ".so";
        const std::string named = "device 'uart' (plugin '" + plugin + "', " + file + ", isolated) crashed: its process";
        {
            const ProcessResult r = run_crashing(plugin, "stop", dir);
            INFO(plugin << " stop\n" << r.err);
            CHECK(r.signal == 0);
            CHECK(r.exit_status == 3);
            CHECK_THAT(r.err, Catch::Contains(named) && Catch::Contains(how) &&
                                  Catch::Contains("on_crash = \"stop\": ending the VM"));
            const auto report = nlohmann::json::parse(read_file(dir.path / "report.json"));
            CHECK(report["exit_status"] == 3);
            CHECK(report["stop"]["cause"] == "plugin crashed");
            CHECK_THAT(report["stop"]["reason"].get<std::string>(), Catch::Contains(how));
        }
        {
            // The guest goes on to its end: the UART reads as all ones (LSR
            // says "ready"), and vmm ends normally.
            const ProcessResult r = run_crashing(plugin, "detach", dir);
            INFO(plugin << " detach\n" << r.err);
            CHECK(r.signal == 0);
            CHECK(r.exit_status == 0);
            CHECK_THAT(r.err, Catch::Contains(named) && Catch::Contains(how) &&
                                  Catch::Contains("its ranges read as all ones from now on"));
            CHECK_THAT(r.err, Catch::Contains("every vCPU halted"));
        }
        {
            // Each restart crashes again at the next LSR read: three restarts,
            // then the limit ends the VM.
            const ProcessResult r = run_crashing(plugin, "restart", dir);
            INFO(plugin << " restart\n" << r.err);
            CHECK(r.signal == 0);
            CHECK(r.exit_status == 3);
            CHECK_THAT(r.err, Catch::Contains("on_crash = \"restart\": restart 1 from scratch"));
            CHECK_THAT(r.err, Catch::Contains("on_crash = \"restart\": restart 3 from scratch"));
            CHECK_THAT(r.err, Catch::Contains("it was restarted 3 times in 60 s: ending the VM"));
        }
    }
}

TEST_CASE("a plugin that cannot run isolated is refused as bad input, naming why", "[e2e][isolation]")
{
    TempDir dir("isolated-refused");
    const std::string machine = dir.write(
        "m.toml",
        "[machine]\nmemory = \"8K\"\n[cpu]\nmode = \"real\"\nentry = 0x1000\n[[image]]\nfile = \"hello.bin\"\n"
        "address = 0x1000\n[[device]]\nname = \"hc\"\nplugin = \"hypercall\"\nisolate = true\n");
    const ProcessResult r = run_vmm({"--config", machine});
    show(r);
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("m.toml:12:11: device 'hc': isolate = true, but plugin 'hypercall' reads vCPU "
                                      "registers (VMM_PLUGIN_NEEDS_VCPU_STATE), which stay in vmm"));
}

TEST_CASE("isolated devices: a missing helper program is bad input, named", "[e2e][isolation]")
{
    TempDir dir("isolated-no-helper");
    const std::string machine = dir.write(
        "m.toml", "[machine]\nmemory = \"8K\"\nisolate = true\n[cpu]\nmode = \"real\"\nentry = 0x1000\n[[image]]\n"
                  "file = \"hello.bin\"\naddress = 0x1000\n[[device]]\nname = \"com1\"\nplugin = \"serial\"\n");
    ProcessOptions options;
    options.environment = {{"VMM_DEVICE_HOST", (dir.path / "nowhere").string()}};
    const ProcessResult r = run_vmm({"--config", machine}, options);
    show(r);
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("device 'com1': isolate = true, but the isolated-device helper "
                                      "$VMM_DEVICE_HOST = " +
                                      (dir.path / "nowhere").string() + " is not an executable file"));
}

TEST_CASE("an isolated serial-file writes the file of its path setting, which vmm opens for it", "[e2e][isolation]")
{
    TempDir dir("isolated-path");
    std::string expected;
    for (int i = 0; i < 40; ++i)
        expected += std::to_string(i) + "\n";
    const auto machine = [&](const std::string &name, const std::string &settings) {
        return dir.write(name + ".toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\nregisters = { rbx = 40 }\n"
                                         "[[image]]\nfile = \"counter.elf\"\n[[device]]\nname = \"com1\"\n"
                                         "plugin = \"serial-file\"\nisolate = true\nsettings = { " +
                                             settings + " }\n");
    };
    const fs::path out = dir.path / "out.txt";
    {
        // An old file: truncated, as the plugin's own open (O_TRUNC) says.
        std::ofstream(out) << "old contents that must go\n";
        const ProcessResult r = run_vmm({"--config", machine("write", "path = \"" + out.string() + "\""), "-v"});
        show(r);
        CHECK(r.exit_status == 0);
        CHECK_THAT(r.err, Catch::Contains("isolated: plugin 'serial-file' runs in process") &&
                              Catch::Contains("sandboxed"));
        CHECK(read_file(out) == expected);
    }
    {
        // append = true: the plugin's O_APPEND reaches vmm's descriptor.
        const ProcessResult r =
            run_vmm({"--config", machine("append", "path = \"" + out.string() + "\", append = true")});
        show(r);
        CHECK(r.exit_status == 0);
        CHECK(read_file(out) == expected + expected);
    }
    {
        // vmm's open fails: the plugin's open fails with the same errno, and
        // its message is the one it gives in-process.
        const std::string nowhere = (dir.path / "no-such-dir" / "out.txt").string();
        const ProcessResult r = run_vmm({"--config", machine("nowhere", "path = \"" + nowhere + "\"")});
        show(r);
        CHECK(r.exit_status == 2);
        CHECK_THAT(r.err, Catch::Contains("path: cannot open '" + nowhere + "': No such file or directory"));
    }
}
