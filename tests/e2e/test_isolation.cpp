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

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

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

namespace {

// The process ids the ctor-marker fixture's constructor wrote, one a line.
std::vector<int> marker_pids(const fs::path &marker)
{
    std::vector<int> pids;
    std::ifstream in(marker);
    for (int pid = 0; in >> pid;)
        pids.push_back(pid);
    return pids;
}

} // namespace

TEST_CASE("an isolated plugin is described by its own process: its static constructor never runs in vmm",
          "[e2e][isolation]")
{
    TempDir dir("isolated-describe");
    const auto machine = [&](const std::string &isolate) {
        return dir.write("m-" + isolate + ".toml",
                         "[machine]\nmemory = \"8K\"\n[cpu]\nmode = \"real\"\nentry = 0x1000\n"
                         "registers = { rax = 2, rbx = 2 }\n[[image]]\nfile = \"hello.bin\"\naddress = 0x1000\n"
                         "[[device]]\nname = \"com1\"\nplugin = \"serial\"\npio = [{ base = 0x3f8, size = 8 }]\n"
                         "[[device]]\nname = \"marker\"\nplugin = \"ctor-marker\"\nisolate = " +
                             isolate + "\n");
    };
    const fs::path marker = dir.path / "marker";
    const std::string path = paths::plugin_dir() + ":" + paths::fixture_dir();
    int vmm_pid = 0;
    ProcessOptions options;
    options.environment = {{"VMM_TEST_CTOR_MARKER", marker.string()}};
    options.on_start = [&](int pid) { vmm_pid = pid; };
    {
        const ProcessResult r = run_vmm({"--config", machine("true"), "--plugin-path", path, "-v"}, options);
        show(r);
        CHECK(r.exit_status == 0);
        CHECK(r.out == "4\n");
        // Twice: the process that described it, the one that ran the device.
        const std::vector<int> pids = marker_pids(marker);
        CHECK(pids.size() == 2);
        for (int pid : pids)
            CHECK(pid != vmm_pid);
        CHECK_THAT(r.err,
                   Catch::Contains("isolated: plugin 'ctor-marker' runs in process " + std::to_string(pids.back())));
    }
    fs::remove(marker);
    {
        // In-process, vmm loads it itself: the constructor runs in vmm, once.
        const ProcessResult r = run_vmm({"--config", machine("false"), "--plugin-path", path}, options);
        show(r);
        CHECK(r.exit_status == 0);
        CHECK(marker_pids(marker) == std::vector<int>{vmm_pid});
    }
    {
        // A constructor that aborts: that process's crash while describing
        // the plugin, named, as bad input; vmm itself goes on to report it.
        ProcessOptions aborting = options;
        aborting.environment["VMM_TEST_CTOR_ABORT"] = "1";
        const ProcessResult r = run_vmm({"--config", machine("true"), "--plugin-path", path}, aborting);
        show(r);
        CHECK(r.signal == 0);
        CHECK(r.exit_status == 2);
        const std::string file = paths::fixture_dir() + "/vmm-ctor-marker.so";
        CHECK_THAT(r.err, Catch::Contains("m-true.toml:16:10: device 'marker': " + file +
                                          " (described in "
                                          "vmm-device-host, process ") &&
                              Catch::Contains("): its process ended while describing the plugin: killed by SIGABRT"));
    }
}

namespace {

// A UNIX stream socket listening at `path`; what its clients sent.
class Listener {
public:
    explicit Listener(const fs::path &path)
    {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0); // accept: no waiting
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0);
        REQUIRE(::listen(fd_, 4) == 0);
    }
    ~Listener() { ::close(fd_); }

    // Every client that connected (vmm has ended: each has closed), each
    // with all it sent, in the order they connected.
    std::vector<std::string> clients()
    {
        std::vector<std::string> sent;
        for (;;) {
            const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC); // reads wait for its end
            if (client < 0)
                return sent;
            std::string bytes;
            char buffer[4096];
            for (ssize_t n; (n = ::read(client, buffer, sizeof buffer)) > 0;)
                bytes.append(buffer, static_cast<std::size_t>(n));
            ::close(client);
            sent.push_back(std::move(bytes));
        }
    }

private:
    int fd_ = -1;
};

} // namespace

TEST_CASE("an isolated simvirtio writes to the UNIX socket of its output setting, which vmm connects for it",
          "[e2e][isolation]")
{
    TempDir dir("isolated-socket");
    const fs::path socket = dir.path / "out.sock";
    const auto machine = [&](const std::string &isolate, const std::string &output) {
        const fs::path original = fs::path(paths::configs_dir()) / "machines" / "simvirtio.toml";
        std::string text = read_file(original.string());
        const std::string greeting = "greeting = ";
        text.replace(text.find(greeting), 0, "output = \"" + output + "\", ");
        text.replace(text.find("plugin = \"simvirtio\"\n"), 0, "isolate = " + isolate + "\n");
        return dir.write("simvirtio-" + isolate + ".toml", text);
    };
    std::vector<std::string> sent[2];
    for (const bool isolate : {false, true}) {
        Listener listener(socket);
        const ProcessResult r =
            run_vmm({"--config", machine(isolate ? "true" : "false", "unix:" + socket.string()), "-v"});
        show(r);
        CHECK(r.exit_status == 0);
        CHECK(r.out.empty()); // all of it went to the socket
        CHECK((r.err.find("isolated: plugin 'simvirtio' runs in process") != std::string::npos) == isolate);
        sent[isolate] = listener.clients();
        fs::remove(socket);
    }
    // One connection each (vmm connected once, the plugin used it), the same bytes.
    REQUIRE(sent[0].size() == 1);
    REQUIRE(sent[1].size() == 1);
    CHECK_THAT(sent[0][0], Catch::Contains("Hello from the SIMVIRTIO device!"));
    CHECK(sent[1][0] == sent[0][0]);

    // Nobody listening: vmm's connect fails, and the plugin's with it, with
    // the message it gives in-process.
    for (const std::string isolate : {"false", "true"}) {
        const ProcessResult r = run_vmm({"--config", machine(isolate, "unix:" + (dir.path / "none.sock").string())});
        show(r);
        CHECK(r.exit_status == 2);
        CHECK_THAT(r.err, Catch::Contains("output: cannot connect to '" + (dir.path / "none.sock").string() +
                                          "': No such file or directory"));
    }
}

TEST_CASE("an isolated plugin older than ABI 1.6 that connects to its setting's socket is refused, naming it",
          "[e2e][isolation]")
{
    TempDir dir("isolated-undeclared-socket");
    const fs::path socket = dir.path / "s.sock";
    Listener listener(socket);
    const std::string machine =
        dir.write("m.toml",
                  "[machine]\nmemory = \"8K\"\n[cpu]\nmode = \"real\"\nentry = 0x1000\n[[device]]\nname = \"dev\"\n"
                  "plugin = \"connects-setting\"\nisolate = true\nsettings = { sock = \"" +
                      socket.string() + "\" }\n");
    const ProcessResult r = run_vmm({"--config", machine, "--plugin-path", paths::fixture_dir()});
    show(r);
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("plugin 'connects-setting' connects to the socket of its setting 'sock' ('" +
                                      socket.string() + "') itself, which its sandbox forbids"));
    CHECK(listener.clients().empty()); // nobody connected: not vmm, not the plugin
}

TEST_CASE("a device host that lies while describing a plugin is refused as bad input, naming the plugin",
          "[e2e][isolation]")
{
    TempDir dir("isolated-lying-host");
    const std::string machine =
        dir.write("m.toml",
                  "[machine]\nmemory = \"8K\"\nisolate = true\n[cpu]\nmode = \"real\"\nentry = 0x1000\n[[image]]\n"
                  "file = \"hello.bin\"\naddress = 0x1000\n[[device]]\nname = \"com1\"\nplugin = \"serial\"\n");
    const std::string file = paths::plugin_dir() + "/vmm-serial.so";
    const std::map<std::string, std::string> kRefusals = {
        {"counts",
         "m.toml:12:10: device 'com1': " + file + ": malformed plugin descriptor: more than 1024 config keys"},
        {"garbage",
         "m.toml:12:10: device 'com1': " + file +
             ": vmm-device-host sent a malformed description of the "
             "plugin (message type 0 is not a description); it is treated as a plugin that lies about itself"},
        {"silent", "m.toml:12:10: device 'com1': " + file + " (described in vmm-device-host, process "},
    };
    for (const auto &[mode, refusal] : kRefusals) {
        ProcessOptions options;
        options.environment = {{"VMM_DEVICE_HOST", paths::fixture_dir() + "/lying-device-host"}, {"LYING_HOST", mode}};
        const ProcessResult r = run_vmm({"--config", machine, "--plugin-path", paths::plugin_dir()}, options);
        INFO(mode);
        show(r);
        CHECK(r.exit_status == 2);
        CHECK(r.out.empty()); // the guest never ran
        CHECK_THAT(r.err, Catch::Contains(refusal));
    }
}

TEST_CASE("an isolated serial-file's socket and connect: input share the one connection vmm makes", "[e2e][isolation]")
{
    TempDir dir("isolated-serial-socket");
    const fs::path socket = dir.path / "s.sock";
    std::string expected;
    for (int i = 0; i < 40; ++i)
        expected += std::to_string(i) + "\n";
    std::vector<std::string> sent[2];
    for (const bool isolate : {false, true}) {
        Listener listener(socket);
        const std::string machine =
            dir.write(std::string("m-") + (isolate ? "true" : "false") + ".toml",
                      "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\nregisters = { rbx = 40 }\n[[image]]\n"
                      "file = \"counter.elf\"\n[[device]]\nname = \"com1\"\nplugin = \"serial-file\"\nisolate = " +
                          std::string(isolate ? "true" : "false") + "\nsettings = { socket = \"" + socket.string() +
                          "\", input_from = \"connect:" + socket.string() + "\" }\n");
        const ProcessResult r = run_vmm({"--config", machine, "-v"});
        show(r);
        CHECK(r.exit_status == 0);
        CHECK((r.err.find("isolated: plugin 'serial-file' runs in process") != std::string::npos) == isolate);
        sent[isolate] = listener.clients();
        fs::remove(socket);
    }
    REQUIRE(sent[0].size() == 1); // one client: output and input on one connection
    REQUIRE(sent[1].size() == 1);
    CHECK(sent[0][0] == expected);
    CHECK(sent[1][0] == expected);
}
