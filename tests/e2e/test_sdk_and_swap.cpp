// End to end: the installed SDK builds a plugin out of the tree; plugins are
// listed without a VM; one device swaps implementation by machine file and
// while the guest runs, through the control socket.
#include "background_vmm.hpp"
#include "control_client.hpp"
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>
#include <vmm/plugin_abi.h>

#define VMM_ABI_MAJOR_FOR_TEST VMM_ABI_MAJOR
#define VMM_ABI_MINOR_FOR_TEST VMM_ABI_MINOR
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <map>
#include <memory>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

using namespace vmm::test;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string counter_text(int count)
{
    std::string text;
    for (int i = 0; i < count; ++i)
        text += std::to_string(i) + "\n";
    return text;
}

std::string counter_machine(int count, const std::string &device_lines)
{
    return "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\nregisters = { rbx = " + std::to_string(count) +
           " }\n[[image]]\nfile = \"counter.elf\"\n[[device]]\nname = \"com1\"\n" + device_lines;
}

} // namespace

TEST_CASE("the example plugin builds from the installed SDK alone and runs its guest", "[e2e][sdk]")
{
    TempDir dir("sdk");
    const fs::path prefix = dir.path / "prefix";
    ProcessResult r = run_process({paths::cmake(), "--install", paths::build_dir(), "--prefix", prefix.string()});
    show(r);
    REQUIRE(r.exit_status == 0);

    // The SDK as installed must not point back into the source or build tree.
    for (const char *part : {"include", "lib/cmake/VmmSdk", "lib/pkgconfig", "share/vmm/examples"}) {
        for (const auto &entry : fs::recursive_directory_iterator(prefix / part)) {
            if (!entry.is_regular_file())
                continue;
            const std::string text = read_file(entry.path());
            INFO(entry.path());
            CHECK(text.find(paths::source_dir()) == std::string::npos);
            CHECK(text.find(paths::build_dir()) == std::string::npos);
        }
    }

    // Only what the install tree holds: the example's sources and the package.
    const fs::path work = dir.path / "crc32";
    fs::copy(prefix / "share/vmm/examples/crc32", work, fs::copy_options::recursive);
    ProcessOptions clean;
    clean.working_directory = work.string();
    clean.timeout = std::chrono::minutes(3);
    r = run_process({paths::cmake(), "-S", ".", "-B", "build", "-DCMAKE_PREFIX_PATH=" + prefix.string(),
                     "-DCMAKE_CXX_COMPILER=" + paths::cxx_compiler()},
                    clean);
    show(r);
    REQUIRE(r.exit_status == 0);
    r = run_process({paths::cmake(), "--build", "build"}, clean);
    show(r);
    REQUIRE(r.exit_status == 0);
    REQUIRE(fs::exists(work / "build" / "vmm-crc32.so"));

    r = run_process({(prefix / "bin/vmm").string(), "--config", "crc32.toml", "--plugin-path", "build"}, clean);
    show(r);
    CHECK(r.exit_status == 0);
    CHECK(r.out == "crc32(\"123456789\") = 0xcbf43926\noutside RAM: status 0x00000001\ntoo long: status 0x00000002\n");
    CHECK_THAT(r.err, Catch::Contains("[crc] warning: buffer 0x7ff00000 (+16) is not in guest RAM"));

    // The same plugin with its own libstdc++ (VMM_PLUGIN_STATIC_CXX_RUNTIME,
    // as the bundled plugins are built): it names no libstdc++.so to load,
    // and runs the same.
    r = run_process({paths::cmake(), "-S", ".", "-B", "build-static", "-DCMAKE_PREFIX_PATH=" + prefix.string(),
                     "-DCMAKE_CXX_COMPILER=" + paths::cxx_compiler(), "-DVMM_PLUGIN_STATIC_CXX_RUNTIME=ON"},
                    clean);
    show(r);
    REQUIRE(r.exit_status == 0);
    r = run_process({paths::cmake(), "--build", "build-static", "--target", "vmm-plugin-crc32"}, clean);
    show(r);
    REQUIRE(r.exit_status == 0);
    CHECK(read_file(work / "build" / "vmm-crc32.so").find("libstdc++.so.6") != std::string::npos);
    CHECK(read_file(work / "build-static" / "vmm-crc32.so").find("libstdc++.so.6") == std::string::npos);
    r = run_process({(prefix / "bin/vmm").string(), "--config", "crc32.toml", "--plugin-path", "build-static"}, clean);
    show(r);
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.out, Catch::StartsWith("crc32(\"123456789\") = 0xcbf43926\n"));

    // The same plugin through pkg-config instead of CMake.
    ProcessOptions pc = clean;
    pc.environment["PKG_CONFIG_PATH"] = (prefix / "lib/pkgconfig").string();
    r = run_process({"/bin/sh", "-c",
                     "mkdir -p pc && " + paths::cxx_compiler() +
                         " -shared -o pc/vmm-crc32.so crc32.cpp $(pkg-config --cflags --libs vmm-sdk)"},
                    pc);
    show(r);
    REQUIRE(r.exit_status == 0);
    r = run_process({(prefix / "bin/vmm").string(), "--config", "crc32.toml", "--plugin-path", "pc"}, clean);
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.out, Catch::StartsWith("crc32(\"123456789\") = 0xcbf43926\n"));
}

TEST_CASE("a plugin builds by including VmmPlugin.cmake from the source tree, as the README says", "[e2e][sdk]")
{
    TempDir dir("sdk-include");
    const fs::path example = fs::path(paths::source_dir()) / "sdk/examples/crc32";
    fs::copy_file(example / "crc32.cpp", dir.path / "crc32.cpp");
    fs::copy_file(example / "crc32.toml", dir.path / "crc32.toml");
    dir.write("CMakeLists.txt", "cmake_minimum_required(VERSION 3.20)\nproject(crc32-plugin LANGUAGES CXX)\n"
                                "include(" + paths::source_dir() + "/sdk/cmake/VmmPlugin.cmake)\n"
                                "vmm_add_plugin(crc32 SOURCES crc32.cpp)\n");
    ProcessOptions options;
    options.working_directory = dir.path.string();
    options.timeout = std::chrono::minutes(3);
    ProcessResult r = run_process(
        {paths::cmake(), "-S", ".", "-B", "build", "-DCMAKE_CXX_COMPILER=" + paths::cxx_compiler()}, options);
    show(r);
    REQUIRE(r.exit_status == 0);
    r = run_process({paths::cmake(), "--build", "build"}, options);
    show(r);
    REQUIRE(r.exit_status == 0);
    r = run_vmm({"--config", "crc32.toml", "--plugin-path", "build"}, options);
    show(r);
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.out, Catch::StartsWith("crc32(\"123456789\") = 0xcbf43926\n"));
}

TEST_CASE("the pkg-config file finds its prefix also under a multiarch LIBDIR", "[e2e][sdk]")
{
    // Debian's layout for CMAKE_INSTALL_PREFIX=/usr: the .pc file is three
    // levels below the prefix, not two. Configure a tree for that layout
    // (nothing is built) and lay its .pc and the SDK out under a stand-in
    // prefix, as `cmake --install --prefix` would.
    TempDir dir("sdk-multiarch");
    const std::string libdir = "lib/x86_64-linux-gnu";
    ProcessOptions slow;
    slow.timeout = std::chrono::minutes(3);
    ProcessResult r = run_process({paths::cmake(), "-S", paths::source_dir(), "-B", (dir.path / "build").string(),
                                   "-DCMAKE_INSTALL_PREFIX=/usr", "-DCMAKE_INSTALL_LIBDIR=" + libdir,
                                   "-DVMM_BUILD_TESTS=OFF", "-DVMM_FUZZERS=OFF"},
                                  slow);
    show(r);
    REQUIRE(r.exit_status == 0);
    const fs::path prefix = dir.path / "usr";
    fs::create_directories(prefix / libdir / "pkgconfig");
    fs::create_directories(prefix / libdir / "cmake/VmmSdk");
    fs::copy_file(dir.path / "build/sdk/vmm-sdk.pc", prefix / libdir / "pkgconfig/vmm-sdk.pc");
    fs::copy(fs::path(paths::source_dir()) / "sdk/include", prefix / "include", fs::copy_options::recursive);
    fs::copy_file(fs::path(paths::source_dir()) / "sdk/cmake/vmm-plugin.map", prefix / libdir / "cmake/VmmSdk/vmm-plugin.map");

    ProcessOptions pc;
    pc.working_directory = dir.path.string();
    pc.environment["PKG_CONFIG_PATH"] = (prefix / libdir / "pkgconfig").string();
    r = run_process({"/bin/sh", "-c", "pkg-config --variable=includedir vmm-sdk"}, pc);
    show(r);
    REQUIRE(r.exit_status == 0);
    CHECK(fs::weakly_canonical(r.out.substr(0, r.out.find('\n'))) == fs::weakly_canonical(prefix / "include"));
    // And a plugin builds with its flags alone.
    const fs::path example = fs::path(paths::source_dir()) / "sdk/examples/crc32/crc32.cpp";
    pc.timeout = std::chrono::minutes(3);
    r = run_process({"/bin/sh", "-c",
                     paths::cxx_compiler() + " -shared -o vmm-crc32.so " + example.string() +
                         " $(pkg-config --cflags --libs vmm-sdk)"},
                    pc);
    show(r);
    CHECK(r.exit_status == 0);
    CHECK(fs::exists(dir.path / "vmm-crc32.so"));
}

TEST_CASE("vmm plugins lists every bundled plugin with its settings, without a VM", "[e2e][sdk]")
{
    const ProcessResult r = run_vmm({"plugins", "--json"});
    show(r);
    REQUIRE(r.exit_status == 0);
    const json listed = json::parse(r.out);
    std::map<std::string, json> by_name;
    for (const json &plugin : listed)
        by_name[plugin["name"]] = plugin;
    std::size_t files = 0;
    for (const auto &entry : fs::directory_iterator(paths::plugin_dir())) {
        const std::string file = entry.path().filename().string();
        if (file.rfind("vmm-", 0) != 0 || entry.path().extension() != ".so")
            continue;
        ++files;
        const std::string name = file.substr(4, file.size() - 7);
        INFO(name);
        REQUIRE(by_name.count(name) == 1);
        CHECK_FALSE(by_name[name]["version"].get<std::string>().empty());
        CHECK_FALSE(by_name[name]["description"].get<std::string>().empty());
        CHECK(by_name[name]["abi"] == std::to_string(VMM_ABI_MAJOR_FOR_TEST) + "." + std::to_string(VMM_ABI_MINOR_FOR_TEST));
    }
    CHECK(listed.size() == files);
    const auto keys = [&](const std::string &name) {
        std::vector<std::string> out;
        for (const json &k : by_name[name]["settings"])
            out.push_back(k["name"].get<std::string>() + ":" + k["type"].get<std::string>());
        return out;
    };
    CHECK(keys("serial") == std::vector<std::string>{"input:string", "input_from:string"});
    CHECK(keys("serial-file") == std::vector<std::string>{"path:string", "append:boolean", "socket:string",
                                                          "input:string", "input_from:string"});
    CHECK(keys("debug-exit") == std::vector<std::string>{"encoding:string"});

    const ProcessResult text = run_vmm({"plugins"});
    CHECK(text.exit_status == 0);
    CHECK_THAT(text.out, Catch::Contains("serial-file 2.0.0 (ABI "));
    CHECK_THAT(text.out, Catch::Contains("    path (string): file to write the output to (created if missing)"));
}

TEST_CASE("vmm plugins --json lists a plugin whose path is not UTF-8", "[e2e][sdk]")
{
    TempDir dir("plugins-json");
    // Latin-1 "é" in a directory name: JSON must be UTF-8, so it is written
    // as U+FFFD instead of the whole listing failing.
    const fs::path plugins = dir.path / "plug\xe9ins";
    fs::create_directories(plugins);
    fs::copy_file(fs::path(paths::fixture_dir()) / "vmm-probe.so", plugins / "vmm-probe.so");
    const ProcessResult r = run_vmm({"--plugin-path", plugins.string(), "plugins", "--json"});
    show(r);
    REQUIRE(r.exit_status == 0);
    bool found = false;
    for (const json &plugin : json::parse(r.out)) {
        if (plugin["name"] == "probe") {
            found = true;
            CHECK(plugin["file"] == (dir.path / "plug\xef\xbf\xbdins" / "vmm-probe.so").string());
        }
    }
    CHECK(found);
}

TEST_CASE("vmm plugins shows each plugin's default interrupt lines", "[e2e][sdk][irq]")
{
    TempDir dir("plugins-irqs");
    for (const char *name : {"irq-edge", "irq-shared", "irq-no-default", "irq-pair", "probe"})
        fs::copy_file(fs::path(paths::fixture_dir()) / ("vmm-" + std::string(name) + ".so"),
                      dir.path / ("vmm-" + std::string(name) + ".so"));
    const ProcessResult r = run_vmm({"--plugin-path", dir.path.string(), "plugins", "--json"});
    show(r);
    REQUIRE(r.exit_status == 0);
    std::map<std::string, json> irqs;
    for (const json &plugin : json::parse(r.out))
        irqs[plugin["name"]] = plugin["default_irqs"];
    CHECK(irqs["irq-edge"] == json::parse(R"([{"line": 5, "trigger": "edge", "shared": false}])"));
    CHECK(irqs["irq-shared"] == json::parse(R"([{"line": 9, "trigger": "level", "shared": true}])"));
    CHECK(irqs["irq-no-default"] == json::parse(R"([{"line": "none", "trigger": "edge", "shared": false}])"));
    CHECK(irqs["irq-pair"] == json::parse(R"([{"line": 3, "trigger": "edge", "shared": false},
                                              {"line": 10, "trigger": "level", "shared": false}])"));
    CHECK(irqs["probe"] == json::array());

    const ProcessResult text = run_vmm({"--plugin-path", dir.path.string(), "plugins"});
    CHECK(text.exit_status == 0);
    CHECK_THAT(text.out, Catch::Contains("  default interrupt lines: 5 (edge)\n"));
    CHECK_THAT(text.out, Catch::Contains("  default interrupt lines: 9 (level, shared)\n"));
    CHECK_THAT(text.out, Catch::Contains("  default interrupt lines: none (edge)\n"));
    CHECK_THAT(text.out, Catch::Contains("  default interrupt lines: 3 (edge), 10 (level)\n"));
}

TEST_CASE("one guest, one vmm binary: the serial device's implementation is chosen by the machine file", "[e2e][swap]")
{
    TempDir dir("swap-file");
    const std::string expected = counter_text(40);

    ProcessResult r = run_vmm({"--config", dir.write("stdout.toml", counter_machine(40, "plugin = \"serial\"\n"))});
    show(r);
    CHECK(r.exit_status == 0);
    CHECK(r.out == expected);

    const fs::path out = dir.path / "out.txt";
    r = run_vmm({"--config", dir.write("file.toml", counter_machine(40, "plugin = \"serial-file\"\nsettings = { path = \"" +
                                                                          out.string() + "\" }\n"))});
    show(r);
    CHECK(r.exit_status == 0);
    CHECK(r.out.empty());
    CHECK(read_file(out) == expected);

    // A UNIX socket: this test listens, vmm connects and streams into it.
    const std::string socket_path = (dir.path / "serial.sock").string();
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    REQUIRE(::bind(listener, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener, 1) == 0);
    std::string received;
    std::thread reader([&] {
        const int client = ::accept(listener, nullptr, nullptr);
        char buffer[4096];
        for (ssize_t n; (n = ::recv(client, buffer, sizeof buffer, 0)) > 0;)
            received.append(buffer, static_cast<std::size_t>(n));
        ::close(client);
    });
    r = run_vmm({"--config", dir.write("socket.toml", counter_machine(40, "plugin = \"serial-file\"\nsettings = { socket = \"" +
                                                                            socket_path + "\" }\n"))});
    reader.join();
    ::close(listener);
    show(r);
    CHECK(r.exit_status == 0);
    CHECK(received == expected);
}

TEST_CASE("hot swap: the serial plugin changes while the guest streams, with no byte lost or doubled", "[e2e][swap]")
{
    TempDir dir("hot-swap");
    const int count = 4000; // long enough to swap in the middle
    const std::string machine = dir.write("m.toml", counter_machine(count, "plugin = \"serial\"\n"));
    const std::string socket = (dir.path / "control.sock").string();
    const fs::path rest = dir.path / "rest.txt";

    // The core's logger at info (per-logger level): the swap line.
    BackgroundVmm background({"--config", machine, "--control", socket, "--log-level", "vmm=info"});
    json swap;
    {
        ControlClient control(socket);
        REQUIRE(control.connected());
        // Swap once the guest is well into its stream (however slowly it
        // started: a sanitizer, a loaded machine).
        CHECK_THAT(await_status(control, [](const json &s) { return value_at(s, "/vcpus/0/exits") > 3000; }),
                   HasAt("/vcpus/0/exits", [](const json &n) { return n > 3000; }, "> 3000"));
        swap = control.request({{"command", "swap"},
                                {"device", "com1"},
                                {"plugin", "serial-file"},
                                {"settings", {{"path", rest.string()}}}});
        CHECK_THAT(control.request({{"command", "status"}}), HasAt("/devices/0/plugin", "serial-file"));
    }
    const ProcessResult &vmm = background.wait();
    show(vmm);
    REQUIRE_THAT(swap, IsOk());
    CHECK_THAT(swap, HasAt("/old_plugin", "serial"));
    CHECK_THAT(swap, HasAt("/new_plugin", "serial-file"));
    CHECK_THAT(swap, HasAt("/state_bytes", [](const json &n) { return n.is_number_unsigned() && n > 0; }, "> 0"));
    std::cout << "hot swap: vCPUs paused for " << swap["pause_us"].get<double>() << " us" << std::endl;
    CHECK(vmm.exit_status == 0);

    const std::string before = vmm.out, after = read_file(rest);
    CHECK_FALSE(before.empty()); // the swap happened mid-stream,
    CHECK_FALSE(after.empty());  // not before or after it
    CHECK(before + after == counter_text(count));
    CHECK_THAT(vmm.err, Catch::Contains("device 'com1': swapped plugin 'serial' for 'serial-file'"));
}

TEST_CASE("serial swap across the process boundary: in-process, isolated, back, with no byte lost or doubled",
          "[e2e][swap][isolation]")
{
    TempDir dir("isolate-swap");
    const int count = 4000;
    const std::string machine = dir.write("m.toml", counter_machine(count, "plugin = \"serial\"\n"));
    const std::string socket = (dir.path / "control.sock").string();

    BackgroundVmm background({"--config", machine, "--control", socket, "-v"});
    json into, back, isolated_status;
    {
        ControlClient control(socket);
        REQUIRE(control.connected());
        const auto exits_above = [](uint64_t n) {
            return [n](const json &s) { return value_at(s, "/vcpus/0/exits").is_number() && value_at(s, "/vcpus/0/exits") > n; };
        };
        json status = await_status(control, exits_above(3000));
        CHECK_THAT(status, HasAt("/devices/0/isolated", false));
        into = control.request({{"command", "swap"}, {"device", "com1"}, {"plugin", "serial"}, {"isolate", true}});
        const uint64_t swapped_at = value_at(control.request({{"command", "status"}}), "/vcpus/0/exits").get<uint64_t>();
        // Long enough isolated that the guest wrote many bytes through the child.
        isolated_status = await_status(control, exits_above(swapped_at + 6000));
        back = control.request({{"command", "swap"}, {"device", "com1"}, {"plugin", "serial"}, {"isolate", false}});
        CHECK_THAT(control.request({{"command", "status"}}), HasAt("/devices/0/isolated", false));
    }
    const ProcessResult &vmm = background.wait();
    show(vmm);
    REQUIRE_THAT(into, IsOk());
    REQUIRE_THAT(back, IsOk());
    CHECK_THAT(into, HasAt("/isolated", true));
    CHECK_THAT(back, HasAt("/isolated", false));
    CHECK_THAT(isolated_status, HasAt("/devices/0/isolated", true));
    CHECK_THAT(into, HasAt("/state_bytes", [](const json &n) { return n.is_number_unsigned() && n > 0; }, "> 0"));
    CHECK_THAT(back, HasAt("/state_bytes", [](const json &n) { return n.is_number_unsigned() && n > 0; }, "> 0"));
    std::cout << "swap into isolation: vCPUs paused for " << into["pause_us"].get<double>() << " us, back: "
              << back["pause_us"].get<double>() << " us" << std::endl;
    CHECK(vmm.exit_status == 0);
    CHECK(vmm.out == counter_text(count));
    CHECK_THAT(vmm.err, Catch::Contains("device 'com1': swapped plugin 'serial' for 'serial', in-process -> isolated"));
    CHECK_THAT(vmm.err, Catch::Contains("isolated: plugin 'serial' runs in process"));
    CHECK_THAT(vmm.err, Catch::Contains("device 'com1': swapped plugin 'serial' for 'serial', isolated -> in-process"));
}

TEST_CASE("the control socket answers bad requests with errors, reports status, and stops the VM", "[e2e][swap]")
{
    TempDir dir("control");
    const std::string machine = dir.write("m.toml", counter_machine(100000000, "plugin = \"serial-file\"\nsettings = { path = \"" +
                                                                                   (dir.path / "out.txt").string() + "\" }\n"));
    const std::string socket = (dir.path / "control.sock").string();
    BackgroundVmm background({"--config", machine, "--control", socket});
    {
        ControlClient control(socket);
        REQUIRE(control.connected());
        const auto reply_to = [&](const std::string &line) { return json::parse(control.raw(line)); };
        CHECK_THAT(reply_to("this is not json"), FailsWith(Catch::StartsWith("not a valid request: ")));
        // The parse error quotes the bad byte; the reply is still UTF-8
        // (U+FFFD) and the server goes on.
        CHECK_THAT(reply_to("{\"command\":\"\xff\"}"),
                   FailsWith(Catch::StartsWith("not a valid request: ") && Catch::Contains("\xef\xbf\xbd")));
        CHECK_THAT(reply_to("[1, 2]"), FailsWith("a request is a JSON object such as {\"command\": \"status\"}"));
        CHECK_THAT(reply_to("{}"), FailsWith("\"command\" must be a string"));
        CHECK_THAT(reply_to(R"({"command": 7})"), FailsWith("\"command\" must be a string"));
        CHECK_THAT(reply_to(R"({"command": "reboot"})"), FailsWith("unknown command \"reboot\" (status, swap, stop, wake)"));
        CHECK_THAT(reply_to(R"({"command": "swap", "plugin": "serial"})"), FailsWith("\"device\" must be a string"));
        CHECK_THAT(reply_to(R"({"command": "swap", "device": "nope", "plugin": "serial"})"),
                   FailsWith("no device named 'nope'"));
        CHECK_THAT(reply_to(R"({"command": "swap", "device": "com1", "plugin": "no-such-plugin"})"),
                   FailsWith(Catch::StartsWith("plugin 'no-such-plugin' not found")));
        CHECK_THAT(reply_to(R"({"command": "swap", "device": "com1", "plugin": "serial", "settings": [1]})"),
                   FailsWith("\"settings\" must be an object"));
        CHECK_THAT(reply_to(R"({"command": "swap", "device": "com1", "plugin": "serial", "settings": {"speed": 9600}})"),
                   FailsWith("device 'com1': plugin 'serial' has no setting 'speed' (it accepts: input, input_from)"));
        // Above INT64_MAX: refused, not wrapped to a negative number.
        CHECK_THAT(reply_to(R"({"command": "swap", "device": "com1", "plugin": "serial", "settings": {"input": 18446744073709551615}})"),
                   FailsWith("setting 'input' = 18446744073709551615 is out of range (integers are signed 64-bit)"));
        CHECK_THAT(reply_to(R"({"command": "swap", "device": "com1", "plugin": "debug-exit", "settings": {}})"),
                   FailsWith("plugin 'debug-exit' cannot take device 'com1''s state (it has no load_state)"));
        CHECK_THAT(reply_to(R"({"command": "swap", "device": "com1", "plugin": "serial", "restart": "yes"})"),
                   FailsWith("\"restart\" must be true or false"));
        CHECK_THAT(reply_to(R"({"command": "swap", "device": "com1", "plugin": "serial", "isolate": 1})"),
                   FailsWith("\"isolate\" must be true or false"));
        CHECK_THAT(
            reply_to(
                R"({"command": "swap", "device": "com1", "plugin": "hypercall", "settings": {}, "isolate": true})"),
            FailsWith(Catch::StartsWith("device 'com1': isolate = true, but plugin 'hypercall' reads vCPU registers")));
        // Last on this connection: the server answers, then closes it.
        CHECK_THAT(reply_to(std::string(70000, 'x')), FailsWith(Catch::Contains("longer than 64 KiB")));

        ControlClient again(socket); // the server survived all of the above
        REQUIRE(again.connected());
        // Several connections at once, each answered on its own; one more
        // than the server keeps is told so and closed.
        std::vector<std::unique_ptr<ControlClient>> others;
        for (int i = 0; i < 15; ++i) {
            others.push_back(std::make_unique<ControlClient>(socket));
            REQUIRE(others.back()->connected());
        }
        for (auto it = others.rbegin(); it != others.rend(); ++it)
            CHECK_THAT((*it)->request({{"command", "status"}}), IsOk());
        ControlClient one_too_many(socket);
        REQUIRE(one_too_many.connected());
        CHECK(one_too_many.read_line() == R"({"ok":false,"error":"too many control connections"})");
        others.clear();
        // The vCPU's thread may not have started yet: the control socket
        // answers from before it does.
        const json status =
            await_status(again, [](const json &s) { return value_at(s, "/vcpus/0/state") == "running"; });
        CHECK_THAT(status, IsOk());
        CHECK_THAT(status, HasAt("/machine", "m"));
        const auto one = [](const json &list) { return list.is_array() && list.size() == 1; };
        REQUIRE_THAT(status, HasAt("/devices", one, "with one element"));
        CHECK_THAT(status, HasAt("/devices/0/name", "com1"));
        CHECK_THAT(status, HasAt("/devices/0/plugin", "serial-file"));
        CHECK_THAT(status, HasAt("/devices/0/ranges/0", "pio 0x3f8-0x3ff"));
        REQUIRE_THAT(status, HasAt("/vcpus", one, "with one element"));
        CHECK_THAT(status, HasAt("/vcpus/0/state", "running"));
        CHECK_THAT(status, HasAt("/vcpus/0/host_thread_id", [](const json &id) { return id.is_number() && id > 0; }, "> 0"));
        CHECK_THAT(again.request({{"command", "stop"}}), IsOk());
    }
    const ProcessResult &vmm = background.wait();
    show(vmm);
    CHECK(vmm.exit_status == 0);
    CHECK_THAT(vmm.err, Catch::Contains("stopped: stopped through the control socket"));
    CHECK_FALSE(fs::exists(socket)); // removed on the way out
}

TEST_CASE("a device that cannot save its state is swapped only when a restart is asked for", "[e2e][swap]")
{
    TempDir dir("restart");
    const std::string machine = dir.write("m.toml", counter_machine(100000000, "plugin = \"serial-file\"\nsettings = { path = \"" +
                                                                                   (dir.path / "out.txt").string() + "\" }\n"
                                                                                   "[[device]]\nname = \"exit\"\nplugin = \"debug-exit\"\n"));
    const std::string socket = (dir.path / "control.sock").string();
    BackgroundVmm background({"--config", machine, "--control", socket});
    {
        ControlClient control(socket);
        REQUIRE(control.connected());
        CHECK_THAT(control.request({{"command", "swap"}, {"device", "exit"}, {"plugin", "debug-exit"}}),
                   FailsWith("device 'exit' (plugin 'debug-exit') cannot save its state: swapping it would restart it "
                             "from scratch (ask with \"restart\": true if that is what you want)"));
        const json reply =
            control.request({{"command", "swap"}, {"device", "exit"}, {"plugin", "debug-exit"}, {"restart", true}});
        CHECK_THAT(reply, IsOk());
        CHECK_THAT(reply, HasAt("/state_bytes", 0));
        CHECK_THAT(control.request({{"command", "stop"}}), IsOk());
    }
    const ProcessResult &vmm = background.wait();
    show(vmm);
    CHECK(vmm.exit_status == 0);
}

TEST_CASE("a swap whose plugin throws across the C ABI fails with the message, and the VM runs on", "[e2e][swap]")
{
    TempDir dir("swap-throws");
    const std::string machine = dir.write("m.toml", counter_machine(100000000, "plugin = \"serial-file\"\nsettings = { path = \"" +
                                                                                   (dir.path / "out.txt").string() + "\" }\n"));
    const std::string socket = (dir.path / "control.sock").string();
    BackgroundVmm background({"--config", machine, "--control", socket, "--plugin-path", paths::fixture_dir()});
    {
        ControlClient control(socket);
        REQUIRE(control.connected());
        const auto swap_to_throws = [&](const std::string &throw_in) {
            return control.request({{"command", "swap"},
                                    {"device", "com1"},
                                    {"plugin", "throws"},
                                    {"settings", {{"throw_in", throw_in}}}});
        };
        const auto plugin_is = [&](const std::string &plugin) {
            CHECK_THAT(control.request({{"command", "status"}}), HasAt("/devices/0/plugin", plugin));
        };
        // The exception's type and what() live in the new plugin, which the
        // failed swap unloads again: the message is copied before that.
        CHECK_THAT(swap_to_throws("create"),
                   FailsWith(Catch::EndsWith("create threw an exception across the C ABI: create exploded")));
        plugin_is("serial-file");
        CHECK_THAT(swap_to_throws("load_state"),
                   FailsWith("device 'com1' (plugin 'throws'): load_state threw an exception across the C ABI: "
                             "load_state exploded"));
        plugin_is("serial-file");
        // The old plugin's save_state throws: it stays.
        CHECK_THAT(swap_to_throws("save_state"), IsOk());
        CHECK_THAT(control.request({{"command", "swap"},
                                    {"device", "com1"},
                                    {"plugin", "serial-file"},
                                    {"settings", {{"path", (dir.path / "more.txt").string()}}}}),
                   FailsWith("device 'com1' (plugin 'throws'): save_state threw an exception across the C ABI: "
                             "save_state exploded"));
        plugin_is("throws");
        CHECK_THAT(control.request({{"command", "stop"}}), IsOk());
    }
    const ProcessResult &vmm = background.wait();
    show(vmm);
    CHECK(vmm.signal == 0);
    CHECK(vmm.exit_status == 0);
}

TEST_CASE("an integer for a float setting reaches the plugin as a float, from the machine file and a swap", "[e2e][swap]")
{
    TempDir dir("int-as-float");
    const std::string machine =
        dir.write("m.toml", counter_machine(100000000, "plugin = \"serial-file\"\nsettings = { path = \"" +
                                                           (dir.path / "out.txt").string() + "\" }\n"
                                                           "[[device]]\nname = \"p\"\nplugin = \"probe\"\n"
                                                           "mmio = [{ base = 0xd0000000, size = 0x40 }]\n"
                                                           "settings = { ratio = 2 }\n"));
    const std::string socket = (dir.path / "control.sock").string();
    BackgroundVmm background(
        {"--config", machine, "--control", socket, "--plugin-path", paths::fixture_dir(), "--log-level", "p=info"});
    {
        ControlClient control(socket);
        REQUIRE(control.connected());
        CHECK_THAT(control.request({{"command", "swap"},
                                    {"device", "p"},
                                    {"plugin", "probe"},
                                    {"restart", true},
                                    {"settings", {{"ratio", 3}}}}),
                   IsOk());
        CHECK_THAT(control.request({{"command", "stop"}}), IsOk());
    }
    const ProcessResult &vmm = background.wait();
    show(vmm);
    CHECK(vmm.exit_status == 0);
    // The probe logs the float it got (0 if it found none).
    CHECK_THAT(vmm.err, Catch::Contains("[p] info: probe ready: flag=0 ratio=2\n"));
    CHECK_THAT(vmm.err, Catch::Contains("[p] info: probe ready: flag=0 ratio=3\n"));
}

TEST_CASE("a swap that cannot pause a vCPU stuck in a device fails, and the guest then runs on", "[e2e][swap]")
{
    TempDir dir("stuck");
    const int count = 3000; // about 14 KB: more than the pipe holds
    const std::string fifo = (dir.path / "out.fifo").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // Opened before vmm, so its open for writing does not block; not read
    // until the swap gave up, so the device blocks in write(2) once the pipe
    // is full, inside a vCPU's exit. The bundled serial plugins never block
    // (their output is non-blocking): a fixture device does it on purpose.
    const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    REQUIRE(reader >= 0);
    ::fcntl(reader, F_SETPIPE_SZ, 4096);
    const std::string machine =
        dir.write("m.toml", counter_machine(count, "plugin = \"blocking-serial\"\nsettings = { path = \"" + fifo + "\" }\n"));
    const std::string socket = (dir.path / "control.sock").string();
    BackgroundVmm background({"--config", machine, "--control", socket, "--plugin-path", paths::fixture_dir()});
    std::string received;
    {
        ControlClient control(socket);
        REQUIRE(control.connected());
        // Wait until the vCPU's thread sleeps in the pipe's write, which
        // only a reader ends: /proc says where a sleeping thread waits
        // ("pipe_write", "anon_pipe_write" since Linux 6.x), and says
        // nothing of a running or preempted one. (Exits that stop changing
        // for 100 ms were the sign before: a starved vCPU shows that too.)
        const auto blocked_in_pipe = [](const json &status) {
            const json tid = value_at(status, "/vcpus/0/host_thread_id");
            if (!tid.is_number_integer() || tid.get<int64_t>() <= 0)
                return false;
            const std::string wchan = read_file("/proc/" + std::to_string(tid.get<int64_t>()) + "/wchan");
            return wchan.size() >= 10 && wchan.compare(wchan.size() - 10, 10, "pipe_write") == 0;
        };
        REQUIRE_THAT(await_status(control, blocked_in_pipe),
                     ReplyMatcher(blocked_in_pipe, "names a vCPU thread asleep in a pipe write"));
        CHECK_THAT(control.request(
                       {{"command", "swap"}, {"device", "com1"}, {"plugin", "serial"}, {"settings", json::object()}}),
                   FailsWith(Catch::Contains("the vCPUs did not pause")));
        // Now drain the pipe: the vCPU leaves the device and must run the
        // guest to its end (it used to be left with immediate_exit set, every
        // KVM_RUN returning at once, forever).
        ::fcntl(reader, F_SETFL, 0);
        char buffer[4096];
        for (ssize_t n; (n = ::read(reader, buffer, sizeof buffer)) > 0;)
            received.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(reader);
    const ProcessResult &vmm = background.wait();
    show(vmm);
    CHECK(vmm.exit_status == 0);
    CHECK(received == counter_text(count));
}

TEST_CASE("a control socket path that is not a socket is bad input", "[e2e][swap]")
{
    TempDir dir("control-path");
    const std::string file = dir.write("not-a-socket", "precious data");
    const ProcessResult r = run_vmm({"--config", "machines/hello.toml", "--control", file});
    CHECK(r.exit_status == 2);
    CHECK(r.err == "control socket path " + file + " exists and is not a socket\n");
    CHECK(read_file(file) == "precious data");
}
