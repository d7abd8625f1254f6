// SIGINT, SIGTERM and --timeout stop the VM cleanly: vCPUs leave KVM_RUN
// and are joined, devices are destroyed in reverse order, the report is
// still written, and the exit status says why.
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

using namespace vmm::test;
namespace fs = std::filesystem;

namespace {


// A guest that would stream for hours, with two devices.
std::string endless_machine(const TempDir &dir)
{
    const fs::path file = dir.path / "endless.toml";
    std::ofstream(file) << "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\nregisters = { rbx = 1000000000 }\n"
                           "[[image]]\nfile = \"counter.elf\"\n"
                           "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n"
                           "[[device]]\nname = \"exit\"\nplugin = \"debug-exit\"\n";
    return file.string();
}

ProcessResult run_and_signal(const std::vector<std::string> &args, int signo)
{
    ProcessOptions options;
    options.on_start = [signo](int pid) {
        std::thread([pid, signo] {
            std::this_thread::sleep_for(std::chrono::milliseconds(700));
            ::kill(pid, signo);
        }).detach();
    };
    const ProcessResult r = run_vmm(args, options);
    UNSCOPED_INFO("exit status " << r.exit_status << ", signal " << r.signal << "\nstderr:\n" << r.err);
    return r;
}

} // namespace

TEST_CASE("SIGINT stops the VM cleanly: status 130, devices destroyed in reverse, report written", "[e2e][signals]")
{
    TempDir dir;
    const std::string report = (dir.path / "report.json").string();
    const ProcessResult r =
        run_and_signal({"--config", endless_machine(dir), "--log-level", "debug", "--report", report}, SIGINT);
    CHECK(r.signal == 0); // it exited by itself, not killed
    CHECK(r.exit_status == 130);
    CHECK_THAT(r.err, Catch::Contains("stopped: interrupted (SIGINT) (exit status 130)"));
    CHECK_THAT(r.err, Catch::Contains("vcpu 0: stopped after"));
    const auto exit_gone = r.err.find("[exit] debug: destroying the instance");
    const auto com1_gone = r.err.find("[com1] debug: destroying the instance");
    REQUIRE(exit_gone != std::string::npos);
    REQUIRE(com1_gone != std::string::npos);
    CHECK(exit_gone < com1_gone); // created com1 then exit: destroyed exit then com1
    CHECK_FALSE(r.out.empty());   // the guest did run
    std::ifstream in(report);
    REQUIRE(in);
    const nlohmann::json j = nlohmann::json::parse(in);
    CHECK(j["exit_status"] == 130);
    CHECK(j["stop"]["cause"] == "signal");
    CHECK(j["vcpus"][0]["end"] == "stopped");
}

TEST_CASE("SIGTERM stops the VM cleanly with status 143", "[e2e][signals]")
{
    TempDir dir;
    const ProcessResult r = run_and_signal({"--config", endless_machine(dir)}, SIGTERM);
    CHECK(r.signal == 0);
    CHECK(r.exit_status == 143);
    CHECK_THAT(r.err, Catch::Contains("stopped: terminated (SIGTERM) (exit status 143)"));
}

TEST_CASE("the --timeout option stops a runaway guest with status 124", "[e2e][signals]")
{
    TempDir dir;
    const auto start = std::chrono::steady_clock::now();
    const ProcessResult r = run_vmm({"--config", endless_machine(dir), "--timeout", "0.5"});
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(r.exit_status == 124);
    CHECK_THAT(r.err, Catch::Contains("stopped: the --timeout elapsed (exit status 124)"));
    CHECK(took < std::chrono::seconds(30)); // stopped by the timeout, not by the test's own limit
}

TEST_CASE("after SIGINT the profiler's report is still written", "[e2e][signals]")
{
    TempDir dir;
    const fs::path json = dir.path / "profile.json";
    const fs::path machine = dir.path / "profiled.toml";
    std::ofstream(machine) << "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\nregisters = { rbx = 1000000000 }\n"
                              "[[image]]\nfile = \"counter.elf\"\n"
                              "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n"
                              "[[device]]\nname = \"prof\"\nplugin = \"profiler\"\nsettings = { json = \""
                           << json.string() << "\" }\n";
    const ProcessResult r = run_and_signal({"--config", machine.string()}, SIGINT);
    CHECK(r.exit_status == 130);
    std::ifstream in(json);
    REQUIRE(in);
    const nlohmann::json profile = nlohmann::json::parse(in);
    // The guest ran for a while: its port exits were counted.
    CHECK(profile.dump().find("\"IO\"") != std::string::npos);
    CHECK_FALSE(r.out.empty());
}

TEST_CASE("a reader of stdout that goes away does not kill the VM: the write fails, the run ends normally",
          "[e2e][signals]")
{
    TempDir dir("sigpipe");
    const std::string report = (dir.path / "report.json").string();
    const std::string machine = dir.write("m.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\n"
                                                    "registers = { rbx = 2000 }\n[[image]]\nfile = \"counter.elf\"\n"
                                                    "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n");
    // `head` exits after 6 bytes; vmm keeps writing into a pipe with no reader.
    // Without SIGPIPE ignored that kills vmm, and the report is never written.
    const ProcessResult r = run_process(
        {"/bin/bash", "-c", R"("$0" --config "$1" --report "$2" | head -c 6; echo "vmm status ${PIPESTATUS[0]}" >&2)",
         paths::vmm_binary(), machine, report});
    show(r);
    CHECK(r.out == "0\n1\n2\n");
    CHECK_THAT(r.err, Catch::Contains("[com1] error: cannot write to stdout (Broken pipe); further output is dropped"));
    CHECK_THAT(r.err, Catch::Contains("vmm status 0\n"));
    const nlohmann::json j = nlohmann::json::parse(read_file(report));
    CHECK(j["vcpus"][0]["last_exit_reason"] == "HLT"); // the guest ran to its end
}

// GNU timeout sends SIGTERM to vmm and then again to its process group: one
// request delivered twice, not "the stop is stuck". The stop finishes and
// the report is whole.
TEST_CASE("a SIGTERM delivered twice at once (GNU timeout) stops cleanly: 143, report written", "[e2e][signals]")
{
    TempDir dir;
    const std::string report = (dir.path / "report.json").string();
    const ProcessResult r = run_process({"/usr/bin/timeout", "--preserve-status", "-s", "TERM", "0.7",
                                         paths::vmm_binary(), "--config", endless_machine(dir), "--report", report});
    show(r);
    CHECK(r.exit_status == 143);
    CHECK_THAT(r.err, Catch::Contains("stopped: terminated (SIGTERM) (exit status 143)"));
    CHECK_THAT(r.err, !Catch::Contains("exiting now"));
    const nlohmann::json j = nlohmann::json::parse(read_file(report));
    CHECK(j["exit_status"] == 143);
    CHECK(j["stop"]["cause"] == "signal");
}

// A device whose destroy takes a minute: the first SIGINT stops the VM and
// the stop hangs in destroy; a second one, a second and a half later, ends
// the process at once (the signal watcher outlives the devices).
TEST_CASE("a second signal ends a stop stuck in a device's destroy", "[e2e][signals]")
{
    TempDir dir;
    const std::string machine =
        dir.write("slow.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\nregisters = { rbx = 1000000000 }\n"
                               "[[image]]\nfile = \"counter.elf\"\n"
                               "[[device]]\nname = \"slow\"\nplugin = \"slow-destroy\"\n");
    const std::string report = (dir.path / "report.json").string();
    std::chrono::steady_clock::time_point second;
    ProcessOptions options;
    options.timeout = std::chrono::milliseconds(30000);
    options.on_start = [&second](int pid) {
        std::this_thread::sleep_for(std::chrono::milliseconds(700));
        ::kill(pid, SIGINT);
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        second = std::chrono::steady_clock::now();
        ::kill(pid, SIGINT);
    };
    const ProcessResult r = run_vmm({"--config", machine, "--plugin-path", paths::fixture_dir(), "--report", report},
                                    options);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - second).count();
    show(r);
    CHECK_FALSE(r.timed_out);
    CHECK(r.signal == 0);
    CHECK(r.exit_status == 130);
    CHECK_THAT(r.err, Catch::Contains("vmm: second signal while stopping: exiting now"));
    CHECK(took < 1.0);
    // The report, written before the devices are destroyed, is whole.
    const nlohmann::json j = nlohmann::json::parse(read_file(report));
    CHECK(j["exit_status"] == 130);
}

// A vCPU stuck in a device (blocking-serial writing into a FIFO nobody
// reads): the stop cannot finish, so no whole report is written. The second
// signal ends the process and leaves a minimal report that says why.
TEST_CASE("a second signal ends a stop stuck in a vCPU's device call, leaving a minimal report", "[e2e][signals]")
{
    TempDir dir;
    const std::string fifo = (dir.path / "fifo").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const int reader = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC); // open, never read
    REQUIRE(reader >= 0);
    ::fcntl(reader, F_SETPIPE_SZ, 4096); // full after a page
    const std::string machine =
        dir.write("stuck.toml", "[machine]\nname = \"stuck\"\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\n"
                                "registers = { rbx = 1000000000 }\n[[image]]\nfile = \"counter.elf\"\n"
                                "[[device]]\nname = \"com1\"\nplugin = \"blocking-serial\"\nsettings = { path = \"" +
                                    fifo + "\" }\n");
    const std::string report = dir.write("report.json", "{\"exit_status\": 0}\n"); // a previous run's
    ProcessOptions options;
    options.timeout = std::chrono::milliseconds(30000);
    options.on_start = [](int pid) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500)); // the FIFO fills; the vCPU blocks
        ::kill(pid, SIGINT);
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        ::kill(pid, SIGINT);
    };
    const ProcessResult r = run_vmm({"--config", machine, "--plugin-path", paths::fixture_dir(), "--report", report},
                                    options);
    ::close(reader);
    show(r);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_status == 130);
    CHECK_THAT(r.err, Catch::Contains("vmm: second signal while stopping: exiting now"));
    const nlohmann::json j = nlohmann::json::parse(read_file(report));
    CHECK(j["machine"] == "stuck");
    CHECK(j["exit_status"] == 130);
    CHECK(j["stop"]["cause"] == "signal");
    CHECK(j["stop"]["reason"] == "a second signal while stopping: vmm exited at once (the stop was stuck)");
    CHECK_FALSE(j.contains("vcpus"));
}

// A device whose create blocks (blocking-serial opening a FIFO nobody
// reads): the first signal says the VM stops once built, a second one a
// second and a half later ends the process.
TEST_CASE("signals work while the machine is being built: a create that blocks can be interrupted",
          "[e2e][signals]")
{
    TempDir dir;
    const std::string fifo = (dir.path / "fifo").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::string machine =
        dir.write("blocked.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\n"
                                  "[[image]]\nfile = \"counter.elf\"\n"
                                  "[[device]]\nname = \"com1\"\nplugin = \"blocking-serial\"\nsettings = { path = \"" +
                                      fifo + "\" }\n");
    ProcessOptions options;
    options.timeout = std::chrono::milliseconds(30000);
    options.on_start = [](int pid) {
        std::this_thread::sleep_for(std::chrono::milliseconds(700));
        ::kill(pid, SIGINT);
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        ::kill(pid, SIGINT);
    };
    const ProcessResult r = run_vmm({"--config", machine, "--plugin-path", paths::fixture_dir()}, options);
    show(r);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_status == 130);
    CHECK_THAT(r.err, Catch::Contains("[vmm] warning: a stop signal while the machine is being built: it stops as soon "
                                      "as it is (a signal a second from now exits at once)"));
    CHECK_THAT(r.err, Catch::Contains("vmm: second signal while stopping: exiting now"));
}
