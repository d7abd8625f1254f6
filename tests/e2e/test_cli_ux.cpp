// The command line as people meet it: quiet logs by default and per-device
// levels, --log-file and --log-timestamps, --set overrides checked like the
// file, `vmm plugins NAME`, and `vmm ctl` talking to a running vmm.
#include "e2e_support.hpp"
#include "spawned_vmm.hpp"
#include "test_paths.hpp"
#include "wait_for.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <set>

using namespace vmm::test;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::size_t count_of(const std::string &text, const std::string &what)
{
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

} // namespace

// ------------------------------------------------------------------ logs

TEST_CASE("by default stderr says how the VM ended and each check's verdict, nothing more", "[e2e][ux][logs]")
{
    ProcessResult r = run_machine("port-trace", {"--log-level", "trace=warn"});
    CHECK(r.exit_status == 0);
    // One verdict line per check, then the end; no device or vCPU detail.
    std::istringstream lines(r.err);
    std::vector<std::string> seen;
    for (std::string line; std::getline(lines, line);)
        seen.push_back(line);
    REQUIRE(seen.size() == 2);
    CHECK(seen[0] == "[vmm] info: check rax of vcpu 0 = 0x2: ok");
    CHECK(seen[1] == "[vmm] info: stopped: every vCPU halted (exit status 0)");

    r = run_machine("hello");
    CHECK(r.err == "[vmm] info: stopped: every vCPU halted (exit status 0)\n");
    // -v and --log-level info give today's detail; `warning` is `warn`.
    for (const std::vector<std::string> &detail : {std::vector<std::string>{"-v"}, {"--log-level", "info"}}) {
        r = run_machine("hello", detail);
        CHECK_THAT(r.err, Catch::Contains("[vmm] info: vcpu 0: halted after 3 exits"));
    }
    r = run_machine("hello", {"--log-level", "warning"});
    CHECK(r.exit_status == 0);
    CHECK(r.err == "[vmm] info: stopped: every vCPU halted (exit status 0)\n");
    r = run_machine("hello", {"--log-level", "off"});
    CHECK(r.exit_status == 0);
    CHECK(r.err.empty());
    CHECK(r.out == "4\n");
    r = run_machine("hello", {"--log-level", "loud"});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("'loud' is not a level"));
}

TEST_CASE("per-device levels: `log` in a [[device]], and NAME=LEVEL on the command line, which wins", "[e2e][ux][logs]")
{
    // port-trace.toml gives its `trace` device log = "info": its accesses
    // show without -v, and the core's detail does not.
    ProcessResult r = run_machine("port-trace");
    CHECK(count_of(r.err, "[trace] info: out  port+0x0") == 3);
    CHECK_THAT(r.err, !Catch::Contains("[vmm] info: vcpu 0"));
    // The command line wins over the file; other loggers keep the global level.
    r = run_machine("port-trace", {"--log-level", "trace=error"});
    CHECK(count_of(r.err, "[trace] info") == 0);
    r = run_machine("port-trace", {"--log-level", "vmm=info,error"});
    CHECK_THAT(r.err, Catch::Contains("[vmm] info: vcpu 0: halted"));
    CHECK(count_of(r.err, "[trace] info") == 3); // the file's level for `trace` still holds
    // A name nothing logs under is most likely a typo: said, and the run goes on.
    r = run_machine("hello", {"--log-level", "com9=debug"});
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.err, Catch::Contains("warning: --log-level com9=...: "));
    CHECK_THAT(r.err, Catch::Contains("has no device named 'com9'"));
    // A machine file's `log` must be a level.
    TempDir dir("ux-logs");
    r = run_vmm({"--config", dir.write("m.toml", "[machine]\nmemory = 4096\n[[device]]\nname = \"d\"\n"
                                                 "plugin = \"console\"\nlog = \"loud\"\n")});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("m.toml:6:7: device 'd': log = \"loud\" is not a level"));
}

TEST_CASE("logs: --log-timestamps dates each line and --log-file takes the log lines while stderr keeps the outcome", "[e2e][ux][logs]")
{
    ProcessResult r = run_machine("hello", {"-v", "--log-timestamps"});
    CHECK(std::regex_search(
        r.err, std::regex(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \[vmm\] info: vcpu 0: halted)")));

    TempDir dir("ux-logfile");
    const std::string log = (dir.path / "vmm.log").string();
    r = run_machine("hello", {"-v", "--log-file", log});
    CHECK(r.exit_status == 0);
    CHECK(r.err == "[vmm] info: stopped: every vCPU halted (exit status 0)\n");
    const std::string logged = dir.read("vmm.log");
    CHECK_THAT(logged, Catch::Contains("[vmm] info: vcpu 0: halted after 3 exits"));
    CHECK_THAT(logged, Catch::Contains("[vmm] info: stopped: every vCPU halted (exit status 0)"));
    // A directory is bad input, said before anything runs.
    r = run_machine("hello", {"--log-file", dir.path.string()});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("is a directory, not a file"));
    CHECK(r.out.empty());
}

// ------------------------------------------------------------------ --set

TEST_CASE("overrides: --set a machine-file value checked like the file with errors naming the option", "[e2e][ux][set]")
{
    // hello prints rax + rbx: 2 + 2 in the file.
    ProcessResult r = run_machine("hello", {"--set", "cpu.registers.rax=5", "--set", "machine.memory=16K"});
    CHECK(r.exit_status == 0);
    CHECK(r.out == "7\n");
    r = run_machine("hello", {"--set", "machine.memory=3K"});
    CHECK(r.exit_status == 2);
    CHECK(r.err == "--set machine.memory=3K: [machine]: memory = 0xc00 must be a non-zero multiple of 4 KiB\n");
    r = run_machine("hello", {"--set", "machine.memroy=16K", "--set", "cpu.registers.rax=x"});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("--set machine.memroy=16K: [machine]: unknown key 'memroy'"));
    CHECK_THAT(r.err, Catch::Contains("--set cpu.registers.rax=x: "));
    // A device by name; a setting is checked against the plugin's keys.
    r = run_machine("hello", {"--set", "device.com1.settings.baud=9600"});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("--set device.com1.settings.baud=9600: device 'com1': plugin 'serial' has no "
                                      "setting 'baud'"));
    r = run_machine("hello", {"--set", "device.com2.settings.input=x"});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("--set device.com2.settings.input=x: "));
    CHECK_THAT(r.err, Catch::Contains("has no [[device]] named 'com2' (devices: com1)"));
    // The file's limits hold for an override's value: no 50,000-part key.
    std::string deep = "device.com1.settings.input={ a";
    for (int i = 0; i < 50000; ++i)
        deep += ".a";
    r = run_vmm({"--config", "machines/hello.toml", "--set", deep + " = 1 }"});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("a key or table name of more than 32 dotted parts"));
    r = run_machine("hello", {"--set", "machine"});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("expected KEY=VALUE"));
}

// ------------------------------------------------------------ plugins NAME

TEST_CASE("vmm plugins NAME: one plugin's full help, as text and JSON, options before or after", "[e2e][ux][plugins]")
{
    ProcessResult r = run_vmm({"plugins", "serial"});
    show(r);
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.out, Catch::StartsWith("serial "));
    CHECK_THAT(r.out, Catch::Contains("saves state:      yes"));
    CHECK_THAT(r.out, Catch::Contains("thread-safe:      no"));
    CHECK_THAT(r.out, Catch::Contains("default ranges:   pio 0x3f8-0x3ff"));
    CHECK_THAT(r.out, Catch::Contains("interrupt lines:  4 (edge)"));
    CHECK(std::regex_search(r.out, std::regex(R"(\n    input_from +string +optional +)")));

    r = run_vmm({"plugins", "serial", "--json", "--plugin-path", paths::plugin_dir()});
    CHECK(r.exit_status == 0);
    const json j = json::parse(r.out);
    CHECK(j["name"] == "serial");
    CHECK(j["saves_state"] == true);
    CHECK(j["thread_safe"] == false);
    CHECK(j["settings"].size() == 2);

    r = run_vmm({"--plugin-path", "/nonexistent-plugins", "plugins", "console"});
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.err, Catch::Contains("warning: --plugin-path /nonexistent-plugins: no such directory"));
    r = run_vmm({"plugins", "no-such-plugin"});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("plugin 'no-such-plugin' not found"));
}

TEST_CASE("vmm plugins NAME: each setting's default, range and choices (ABI 1.6), as text and JSON",
          "[e2e][ux][plugins]")
{
    ProcessResult r = run_vmm({"plugins", "simvirtio"});
    show(r);
    CHECK(r.exit_status == 0);
    // One line of facts per setting, its description on the next.
    CHECK(std::regex_search(
        r.out,
        std::regex(
            R"(\n    max_queue_length +integer +optional +default 4096, range 2\.\.65535\n +largest queue length the driver may configure\n)")));
    CHECK(std::regex_search(
        r.out, std::regex(R"(\n    notify +string +optional +default "exit", one of "exit", "poll", "doorbell"\n)")));
    CHECK(std::regex_search(r.out, std::regex(R"(\n    greeting +string +optional +default ""\n)")));
    // A setting without a default says nothing about one.
    CHECK(std::regex_search(r.out, std::regex(R"(\n    device_table +integer +optional\n)")));

    r = run_vmm({"plugins", "simvirtio", "--json"});
    CHECK(r.exit_status == 0);
    const json j = json::parse(r.out);
    json by_name;
    for (const json &key : j["settings"])
        by_name[key["name"].get<std::string>()] = key;
    CHECK(by_name["max_queue_length"]["default"] == "4096");
    CHECK(by_name["max_queue_length"]["range"] == json{{"min", 2}, {"max", 65535}});
    CHECK(by_name["max_queue_length"]["choices"].is_null());
    CHECK(by_name["notify"]["choices"] == json{"exit", "poll", "doorbell"});
    CHECK(by_name["notify"]["range"].is_null());
    CHECK(by_name["device_table"]["default"].is_null());

    // The list shows them too, and a hex default stays as written.
    r = run_vmm({"plugins"});
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.out, Catch::Contains("    read_value (integer, default 0xffffffff): "));
    CHECK_THAT(r.out, Catch::Contains("    reset-status (integer, default 4, range 0..255): "));

    // A plugin lying about its own limits is refused by name.
    r = run_vmm({"plugins", "--plugin-path", paths::fixture_dir(), "bad-limits-default"});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("malformed plugin descriptor: plugin 'bad-limits-default': config key 'size': "
                                      "its default \"100\" is outside the range 1..10"));
}

TEST_CASE("a declared default is the value the device uses when the machine file sets none", "[e2e][ux][plugins]")
{
    // pc-misc's reset-status defaults to 4 (its declaration, the one
    // `vmm plugins` shows): a guest resetting through port 0x92 ends with it.
    TempDir dir("ux-default");
    ProcessResult r = run_vmm({"plugins", "pc-misc", "--json"});
    REQUIRE(r.exit_status == 0);
    const json help = json::parse(r.out);
    REQUIRE(help["settings"][0]["name"] == "reset-status");
    const int declared = std::stoi(help["settings"][0]["default"].get<std::string>());
    dir.write("reset.bin", std::string("\xb0\x01\xe6\x92\xf4", 5)); // mov al, 1; out 0x92, al; hlt
    const std::string machine = dir.write("m.toml", "[machine]\nmemory = \"64K\"\n[cpu]\nmode = \"real\"\n"
                                                    "entry = 0x1000\n[[image]]\nfile = \"reset.bin\"\n"
                                                    "address = 0x1000\n[[device]]\nname = \"misc\"\n"
                                                    "plugin = \"pc-misc\"\n");
    r = run_vmm({"--config", machine});
    show(r);
    CHECK(r.exit_status == declared);
    CHECK(declared == 4);
}

TEST_CASE("vmm plugins: of two plugins of one name on the path, the first wins, and it says so", "[e2e][ux][plugins]")
{
    TempDir dir("ux-shadow");
    fs::copy_file(fs::path(paths::plugin_dir()) / "vmm-console.so", dir.path / "vmm-console.so");
    const ProcessResult r = run_vmm({"plugins", "--plugin-path", dir.path.string(), "console"});
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.out, Catch::Contains("file:             " + (dir.path / "vmm-console.so").string()));
    CHECK_THAT(r.err, Catch::Contains((fs::path(paths::plugin_dir()) / "vmm-console.so").string() + " is hidden by " +
                                      (dir.path / "vmm-console.so").string()));
}

// --------------------------------------------------------------------- ctl

TEST_CASE("vmm ctl: status, swap and stop through the control socket, for people and as JSON", "[e2e][ux][ctl]")
{
    TempDir dir("ux-ctl");
    const std::string socket = (dir.path / "c.sock").string();
    const std::string machine =
        dir.write("m.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\nregisters = { rbx = 1000000000 }\n"
                            "[[image]]\nfile = \"counter.elf\"\n[[device]]\nname = \"com1\"\nplugin = \"serial\"\n");
    const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    const int err_fd = ::open((dir.path / "err.txt").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    const std::string report = (dir.path / "report.json").string();
    SpawnedVmm vmm({"--config", machine, "--control", socket, "--timeout", "60", "--report", report}, null_fd, null_fd,
                   err_fd);
    ::close(null_fd);
    ::close(err_fd);
    REQUIRE(wait_for([&] { return fs::exists(socket); }, std::chrono::seconds(10)));

    ProcessResult r = run_vmm({"ctl", socket, "status"});
    show(r);
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.out, Catch::Contains("machine m\n"));
    CHECK_THAT(r.out, Catch::Contains("  device com1: plugin serial "));
    CHECK_THAT(r.out, Catch::Contains("pio 0x3f8-0x3ff"));
    // The socket may answer before the vCPU thread starts.
    CHECK(std::regex_search(r.out, std::regex(R"(\n  vcpu 0: (created|running), \d+ exits\n)")));

    r = run_vmm({"ctl", "--json", socket, "status"});
    CHECK(r.exit_status == 0);
    CHECK(json::parse(r.out)["devices"][0]["plugin"] == "serial");

    const std::string rest = (dir.path / "rest.txt").string();
    r = run_vmm({"ctl", socket, "swap", "com1", "serial-file", "path=" + rest});
    show(r);
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.out, Catch::StartsWith("swapped device com1: serial -> serial-file ("));

    r = run_vmm({"ctl", socket, "swap", "nope", "serial"});
    CHECK(r.exit_status == 1);
    CHECK_THAT(r.err, Catch::Contains("error: ") && Catch::Contains("nope"));
    r = run_vmm({"ctl", socket, "reboot"});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("unknown command 'reboot'"));

    r = run_vmm({"ctl", socket, "stop"});
    CHECK(r.exit_status == 0);
    CHECK(r.out == "stopping\n");
    CHECK(vmm.wait(std::chrono::seconds(10)) == 0);
    CHECK(fs::file_size(rest) > 0); // the serial-file plugin took over the stream

    // The report says what ran: the version, both plugins, the swap, the
    // wall time and the host.
    const json facts = json::parse(dir.read("report.json"));
    CHECK(facts["vmm"]["version"].is_string());
    REQUIRE(facts["plugins"].size() == 2);
    CHECK(facts["plugins"][0]["name"] == "serial");
    CHECK(facts["plugins"][1]["name"] == "serial-file");
    CHECK(fs::exists(facts["plugins"][1]["file"].get<std::string>()));
    REQUIRE(facts["swaps"].size() == 1);
    CHECK(facts["swaps"][0]["device"] == "com1");
    CHECK(facts["swaps"][0]["old_plugin"] == "serial");
    CHECK(facts["swaps"][0]["new_plugin"] == "serial-file");
    CHECK(facts["wall_seconds"] > facts["swaps"][0]["at_seconds"]);
    utsname names{};
    REQUIRE(::uname(&names) == 0);
    CHECK_THAT(facts["host"]["kernel"].get<std::string>(), Catch::Contains(names.release));
    CHECK(facts["host"]["supervisor_code_native"] == !fs::exists("/sys/module/kvm_pvm"));

    r = run_vmm({"ctl", socket, "status"});
    CHECK(r.exit_status == 1);
    CHECK_THAT(r.err, Catch::Contains("cannot connect to " + socket));
}

TEST_CASE("vmm ctl swap --restart, --isolate and --in-process ask for what the socket's JSON can", "[e2e][ux][ctl]")
{
    TempDir dir("ux-ctl-flags");
    const std::string socket = (dir.path / "c.sock").string();
    const std::string machine =
        dir.write("m.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\nregisters = { rbx = 1000000000 }\n"
                            "[[image]]\nfile = \"counter.elf\"\n[[device]]\nname = \"com1\"\nplugin = \"serial\"\n"
                            "[[device]]\nname = \"exit\"\nplugin = \"debug-exit\"\n");
    const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    SpawnedVmm vmm({"--config", machine, "--control", socket, "--timeout", "60"}, null_fd, null_fd, null_fd);
    ::close(null_fd);
    REQUIRE(wait_for([&] { return fs::exists(socket); }, std::chrono::seconds(10)));

    // debug-exit saves no state: refused without --restart, done with it.
    ProcessResult r = run_vmm({"ctl", socket, "swap", "exit", "debug-exit"});
    CHECK(r.exit_status == 1);
    CHECK_THAT(r.err, Catch::Contains("cannot save its state") && Catch::Contains("\"restart\": true"));
    r = run_vmm({"ctl", socket, "swap", "exit", "debug-exit", "--restart"});
    show(r);
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.out, Catch::StartsWith("swapped device exit: debug-exit -> debug-exit (0 bytes of state"));

    // Into a sandboxed process of its own and back, its state with it.
    r = run_vmm({"ctl", "--json", socket, "swap", "com1", "serial", "--isolate"});
    show(r);
    CHECK(r.exit_status == 0);
    CHECK(json::parse(r.out)["isolated"] == true);
    r = run_vmm({"ctl", socket, "status", "--json"});
    CHECK(json::parse(r.out)["devices"][0]["isolated"] == true);
    r = run_vmm({"ctl", socket, "swap", "com1", "serial", "--in-process"});
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.out, Catch::StartsWith("swapped device com1: serial -> serial (") && !Catch::Contains("isolated"));
    r = run_vmm({"ctl", socket, "status", "--json"});
    CHECK(json::parse(r.out)["devices"][0]["isolated"] == false);

    // The flags belong to swap, and --isolate excludes --in-process.
    r = run_vmm({"ctl", socket, "status", "--restart"});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("--restart, --isolate and --in-process apply to swap, not to 'status'"));
    r = run_vmm({"ctl", socket, "swap", "com1", "serial", "--isolate", "--in-process"});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("--isolate excludes --in-process"));

    r = run_vmm({"ctl", socket, "stop"});
    CHECK(r.exit_status == 0);
    CHECK(vmm.wait(std::chrono::seconds(10)) == 0);
}

// ------------------------------------------------------------ stray files

TEST_CASE("bundled machines run from the source tree leave no file in it", "[e2e][ux][files]")
{
    const fs::path source = paths::source_dir();
    const auto listing = [&] {
        std::set<std::string> names;
        for (const auto &entry : fs::directory_iterator(source))
            names.insert(entry.path().filename().string());
        for (const auto &entry : fs::directory_iterator(source / "configs" / "machines"))
            names.insert("configs/machines/" + entry.path().filename().string());
        return names;
    };
    const std::set<std::string> before = listing();
    ProcessOptions in_source;
    in_source.working_directory = source.string();
    for (const char *machine : {"machines/exit-counts.toml", "machines/exit-counts-trace.toml"}) {
        const ProcessResult r = run_vmm({"--config", machine}, in_source);
        show(r);
        CHECK(r.exit_status == 0);
    }
    CHECK(listing() == before);
}

// ------------------------------------------------------------ any language

TEST_CASE("a machine file in Romanian with CJK and emoji runs and its errors point at the right column", "[e2e][ux][unicode]")
{
    TempDir dir("ux-unicode");
    // ă â î ș ț are in the blocks TOML++ 3.3.0 mishandles; 日本語 and 🙂 are not.
    const std::string words = "Ma\xc8\x99in\xc4\x83 \xc3\xae\xc8\x9bi \xc3\xa2 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
                              "\xf0\x9f\x99\x82";
    const std::string good = "# " + words + "\n[machine]\nname = \"" + words + "\" # " + words +
                             "\nmemory = \"8K\"\n[cpu]\nmode = \"real\"\nentry = 0x1000\nregisters = { rax = 2, rbx = 2 }\n"
                             "[[image]]\nfile = \"hello.bin\"\naddress = 0x1000\n"
                             "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n";
    ProcessResult r = run_vmm({"--config", dir.write("ro.toml", good), "--report", (dir.path / "r.json").string()});
    show(r);
    CHECK(r.exit_status == 0);
    CHECK(r.out == "4\n");
    CHECK(json::parse(dir.read("r.json"))["machine"] == words);
    // "Mașină îți â 日本語 🙂" is 18 characters: in `name = "..." oops` the
    // stray word starts at column 29 (8 + 18 + the quote and a space), whatever the bytes.
    r = run_vmm({"--config", dir.write("bad.toml", "[machine]\nname = \"" + words + "\" oops\nmemory = 4096\n")});
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::StartsWith(dir.path.string() + "/bad.toml:2:29: "));
}
