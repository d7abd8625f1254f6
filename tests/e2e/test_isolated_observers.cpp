// Isolated exit observers (docs/isolation.md, "Observers"): the profiler
// and the tracer give the same counts and output isolated as in-process; an
// observer that crashes mid-run is named and handled under on_crash; a
// child that stops taking events makes vmm drop and count them, never wait.
#include "background_vmm.hpp"
#include "control_client.hpp"
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"
#include "wait_for.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace vmm::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

ProcessResult run_in(const TempDir &dir, const std::vector<std::string> &args,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(60000))
{
    ProcessOptions options;
    options.working_directory = dir.path.string();
    options.timeout = timeout;
    ProcessResult r = run_vmm(args, options);
    show(r);
    return r;
}

// The profiler's JSON without what depends on timing: every key that holds
// nanoseconds, and the timeline.
json without_timings(json j)
{
    if (j.is_object()) {
        json out = json::object();
        for (auto it = j.begin(); it != j.end(); ++it) {
            const std::string &key = it.key();
            if (key.find("_ns") != std::string::npos || key == "timeline" || key.find("seconds") != std::string::npos)
                continue;
            out[key] = without_timings(it.value());
        }
        return out;
    }
    if (j.is_array()) {
        json out = json::array();
        for (const json &e : j)
            out.push_back(without_timings(e));
        return out;
    }
    return j;
}

// The tracer's lines, each without its sequence number (two vCPUs
// interleave differently from run to run, in-process too), sorted.
std::vector<std::string> trace_lines(const std::string &text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    const std::regex seq(" seq=[0-9]+");
    for (std::string line; std::getline(in, line);)
        lines.push_back(std::regex_replace(line, seq, ""));
    std::sort(lines.begin(), lines.end());
    return lines;
}

// The pid of vmm's child running an isolated plugin (vmm-device-host), or 0.
int device_host_of(int vmm_pid)
{
    for (const auto &entry : fs::directory_iterator("/proc")) {
        std::ifstream status(entry.path() / "status");
        std::string line, name;
        int ppid = -1;
        while (std::getline(status, line)) {
            if (line.rfind("Name:", 0) == 0)
                name = line.substr(line.find_first_not_of(" \t", 5));
            else if (line.rfind("PPid:", 0) == 0)
                ppid = std::atoi(line.c_str() + 5);
        }
        if (ppid != vmm_pid || name.rfind("vmm-device-", 0) != 0)
            continue;
        // The process that runs the plugin (`vmm-device-host --serve`), not
        // the short-lived one that only describes it (`--describe FILE`),
        // which may also have ended since its status was read (an empty
        // command line).
        std::ifstream cmdline_file(entry.path() / "cmdline");
        const std::string cmdline((std::istreambuf_iterator<char>(cmdline_file)), std::istreambuf_iterator<char>());
        if (cmdline.find(std::string("--serve\0", 8)) != std::string::npos)
            return std::atoi(entry.path().filename().c_str());
    }
    return 0;
}

// The pio-loop guest (`writes` OUTs to a serial port, then HLT) with an
// observer device `prof` on `plugin`.
std::string pio_loop_with(uint64_t writes, const std::string &plugin, const std::string &extra)
{
    return "[machine]\nmemory = \"8K\"\n[cpu]\nmode = \"real\"\nentry = 0x1000\nregisters = { rcx = " +
           std::to_string(writes) +
           " }\n[[image]]\nfile = \"pio-loop.bin\"\naddress = 0x1000\n"
           "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n"
           "[[device]]\nname = \"prof\"\nplugin = \"" +
           plugin + "\"\nisolate = true\n" + extra;
}

// The Chrome trace's events without their timings (ts, dur, guest_ns),
// sorted: the same exits, whatever the order the vCPUs' events came in.
std::vector<std::string> trace_events(const json &trace)
{
    std::vector<std::string> events;
    for (json event : trace.at("traceEvents")) {
        event.erase("ts");
        event.erase("dur");
        if (event.contains("args"))
            event["args"].erase("guest_ns");
        events.push_back(event.dump());
    }
    std::sort(events.begin(), events.end());
    return events;
}

} // namespace

TEST_CASE("isolated profiler: the same counts as in-process, its files complete", "[e2e][isolation][observers]")
{
    TempDir dir("isolated-profiler");
    const fs::path machines = fs::path(paths::configs_dir()) / "machines";
    const ProcessResult in_process =
        run_in(dir, {"--config", (machines / "exit-counts.toml").string(), "--set",
                     "device.profiler.settings.json=in.json", "--set", "device.profiler.settings.html=in.html", "--set",
                     "device.profiler.settings.trace=in-trace.json"});
    const ProcessResult isolated =
        run_in(dir,
               {"--config", (machines / "exit-counts.toml").string(), "--set", "device.profiler.isolate=true", "--set",
                "device.profiler.settings.json=iso.json", "--set", "device.profiler.settings.html=iso.html", "--set",
                "device.profiler.settings.trace=iso-trace.json", "--report", "report.json", "-v"});
    REQUIRE(in_process.exit_status == 0);
    REQUIRE(isolated.exit_status == 0);
    CHECK_THAT(isolated.err, Catch::Contains("isolated: plugin 'profiler' runs in process"));
    CHECK_THAT(isolated.err, Catch::Contains("[profiler] info: profile: 23 exits on 2 vCPU(s)"));
    const json a = json::parse(dir.read("in.json"));
    const json b = json::parse(dir.read("iso.json"));
    CHECK(b.at("exits") == 23);
    json counts_a = without_timings(a), counts_b = without_timings(b);
    CHECK(counts_b.at("trace").at("events") == 23);
    counts_a.at("trace").erase("file"); // in-trace.json, iso-trace.json
    counts_b.at("trace").erase("file");
    CHECK(counts_a == counts_b);
    CHECK(b.at("by_port").at("0x603").at("exits") == 4);
    CHECK(b.at("by_port").at("0x603").at("device") == "ports");
    // The Chrome trace: the same 23 exits (and its metadata events).
    const auto trace_a = trace_events(json::parse(dir.read("in-trace.json")));
    const auto trace_b = trace_events(json::parse(dir.read("iso-trace.json")));
    CHECK(trace_b.size() >= 23);
    CHECK(trace_a == trace_b);
    // The HTML page is written whole (its closing tag is last).
    const std::string html = dir.read("iso.html");
    CHECK_THAT(html, Catch::EndsWith("</html>\n"));
    // Nothing was dropped: the count is 0.
    const json report = json::parse(dir.read("report.json"));
    if (report.contains("observer_events_dropped"))
        CHECK(report.at("observer_events_dropped").at("profiler") == 0);
}

TEST_CASE("isolated tracer: the same lines as in-process", "[e2e][isolation][observers]")
{
    TempDir dir("isolated-tracer");
    const fs::path machine = fs::path(paths::configs_dir()) / "machines" / "exit-counts-trace.toml";
    const ProcessResult in_process =
        run_in(dir, {"--config", machine.string(), "--set", "device.tracer.settings.file=in.txt"});
    const ProcessResult isolated = run_in(dir, {"--config", machine.string(), "--set", "device.tracer.isolate=true",
                                                "--set", "device.tracer.settings.file=iso.txt"});
    REQUIRE(in_process.exit_status == 0);
    REQUIRE(isolated.exit_status == 0);
    const auto a = trace_lines(dir.read("in.txt"));
    const auto b = trace_lines(dir.read("iso.txt"));
    CHECK(b.size() == 25); // two comment lines and 23 exits
    CHECK(a == b);
    CHECK_THAT(isolated.err, Catch::Contains("23 exits traced; the last 23 written to iso.txt"));
}

TEST_CASE("an isolated observer that crashes mid-run is named and handled under on_crash",
          "[e2e][isolation][observers]")
{
    TempDir dir("isolated-observer-crash");
    // `writes` outlasts what the policy needs: for "restart", four children
    // started and crashed (each spawn takes a while, longer under a sanitizer).
    const auto run = [&](const std::string &policy, uint64_t writes = 20000) {
        const std::string machine =
            dir.write(policy + ".toml",
                      pio_loop_with(writes, "crashing-observer",
                                    "on_crash = \"" + policy + "\"\nsettings = { crash_after = 100 }\n"));
        return run_in(dir, {"--config", machine, "--plugin-path", paths::fixture_dir()});
    };
    const std::string named = "device 'prof' (plugin 'crashing-observer', " + paths::fixture_dir() +
                              "/vmm-crashing-observer.so, isolated) crashed: its process (pid ";
    {
        const ProcessResult r = run("stop");
        CHECK(r.exit_status == 3);
        CHECK_THAT(r.err, Catch::Contains(named));
        CHECK_THAT(r.err, Catch::Contains("killed by SIGSEGV; on_crash = \"stop\": ending the VM"));
    }
    {
        // The VM goes on to the guest's HLT without it.
        const ProcessResult r = run("detach");
        CHECK(r.exit_status == 0);
        CHECK_THAT(r.err, Catch::Contains(named));
        CHECK_THAT(r.err, Catch::Contains("on_crash = \"detach\": its exit events are no longer delivered"));
        CHECK_THAT(r.err, Catch::Contains("every vCPU halted"));
    }
    {
        // Each new instance crashes on its 100th event: three restarts, then the limit.
        const ProcessResult r = run("restart", 2000000);
        CHECK(r.exit_status == 3);
        CHECK_THAT(r.err, Catch::Contains("on_crash = \"restart\": restart 1 from scratch"));
        CHECK_THAT(r.err, Catch::Contains("on_crash = \"restart\": restart 3 from scratch"));
        CHECK_THAT(r.err, Catch::Contains("it was restarted 3 times in 60 s: ending the VM"));
    }
}

TEST_CASE("a stopped observer process: events are dropped and counted, the VM goes on and stops at once",
          "[e2e][isolation][observers]")
{
    TempDir dir("isolated-observer-stopped");
    // Long enough to outlast the test's steps (it is stopped by SIGTERM).
    const std::string machine =
        dir.write("m.toml", pio_loop_with(50000000, "profiler", "settings = { json = \"p.json\" }\n"));
    const std::string log = (dir.path / "log.txt").string();
    int vmm_pid = 0;
    std::atomic<int> pid{0};
    ProcessResult result;
    std::thread runner([&] {
        ProcessOptions options;
        options.working_directory = dir.path.string();
        options.timeout = std::chrono::milliseconds(60000);
        options.on_start = [&](int p) { pid = p; };
        result = run_vmm({"--config", machine, "--report", "report.json", "--log-file", log}, options);
    });
    struct Joiner {
        std::thread &t;
        std::atomic<int> &pid;
        ~Joiner()
        {
            if (t.joinable()) {
                if (pid > 0)
                    ::kill(pid, SIGKILL);
                t.join();
            }
        }
    } joiner{runner, pid};
    REQUIRE(wait_for([&] { return pid.load() > 0; }, std::chrono::milliseconds(10000)));
    vmm_pid = pid;
    int child = 0;
    REQUIRE(wait_for([&] { return (child = device_host_of(vmm_pid)) > 0; }, std::chrono::milliseconds(10000)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // the guest runs, its events flow
    REQUIRE(::kill(child, SIGSTOP) == 0);
    // vmm notices nothing until a ring is full; then it drops, says so once, and goes on.
    REQUIRE(wait_for([&] { return read_file(log).find("is not taking exit events") != std::string::npos; },
                     std::chrono::milliseconds(20000)));
    const auto asked = std::chrono::steady_clock::now();
    REQUIRE(::kill(vmm_pid, SIGTERM) == 0);
    runner.join();
    const auto took = std::chrono::steady_clock::now() - asked;
    show(result);
    const std::string text = read_file(log);
    INFO(text.substr(0, 4000));
    CHECK(result.exit_status == 143);
    // The stop waits at most 500 ms for the child's last events, then kills it.
    CHECK(took < std::chrono::milliseconds(2000));
    CHECK_THAT(text, Catch::Contains("did not take its last"));
    CHECK_THAT(text,
               Catch::Matches("(.|\n)*[1-9][0-9]* exit event\\(s\\) dropped: its process did not take them(.|\n)*"));
    const json report = json::parse(dir.read("report.json"));
    CHECK(report.at("observer_events_dropped").at("prof").get<uint64_t>() > 0);
    CHECK(::kill(child, 0) != 0); // gone (killed and reaped)
}

TEST_CASE("a profiler swapped from in-process to isolated while the guest runs: no exit lost or counted twice",
          "[e2e][isolation][observers]")
{
    TempDir dir("isolated-observer-swap");
    const uint64_t writes = 200000; // seconds of exits: the swap lands while they run
    std::string text = pio_loop_with(writes, "profiler", "log = \"info\"\n");
    text.replace(text.find("isolate = true"), 14, "isolate = false");
    const std::string machine = dir.write("m.toml", text);
    const std::string socket = (dir.path / "control.sock").string();
    const std::string log = (dir.path / "log.txt").string();
    BackgroundVmm background(
        {"--config", machine, "--control", socket, "--log-file", log, "--report", (dir.path / "report.json").string()});
    {
        ControlClient control(socket);
        REQUIRE(control.connected());
        const json reply = json::parse(control.raw(
            R"({"command": "swap", "device": "prof", "plugin": "profiler", "isolate": true, "restart": true})"));
        INFO(reply.dump());
        REQUIRE(reply.at("ok") == true);
        CHECK(reply.at("isolated") == true);
    }
    const ProcessResult &r = background.wait();
    show(r);
    REQUIRE(r.exit_status == 0);
    // Each instance prints its own profile when it is destroyed: the
    // in-process one at the swap, the isolated one at the end.
    const std::string text_log = read_file(log);
    INFO(text_log.substr(0, 4000));
    const std::regex profile(R"(\[prof\] info: profile: ([0-9]+) exits)");
    uint64_t total = 0;
    int profiles = 0;
    for (auto it = std::sregex_iterator(text_log.begin(), text_log.end(), profile); it != std::sregex_iterator();
         ++it) {
        total += std::stoull((*it)[1]);
        ++profiles;
    }
    CHECK(profiles == 2);
    CHECK(total == writes + 1); // every OUT and the HLT, once
    const json report = json::parse(dir.read("report.json"));
    CHECK(report.at("observer_events_dropped").at("prof") == 0);
    CHECK_THAT(text_log, Catch::Contains("[prof] info: isolated: plugin 'profiler' runs in process"));
}
