// A consumer that stops reading (a paused pager, a terminal stopped with
// Ctrl-S, a CI pipe) must never wedge the VM: with stdout a full pipe nobody
// reads, SIGINT, --timeout and a control-socket stop each end the VM within
// a second, and the report is written.
#include "e2e_support.hpp"
#include "spawned_vmm.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

using namespace vmm::test;
using Clock = SpawnedVmm::Clock;

namespace {

// vmm with stdout on a pipe nobody reads (shrunk to one page, so it fills
// at once) and stderr in a file; or, with `stall_stderr`, the other way
// round.
class StalledVmm {
public:
    StalledVmm(const TempDir &dir, const std::vector<std::string> &args, bool stall_stderr = false)
        : err_file_((dir.path / "stderr.txt").string()), pipe_(make_pipe()), file_(open_file(err_file_)),
          null_(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
          vmm_(args, null_, stall_stderr ? file_ : pipe_[1], stall_stderr ? pipe_[1] : file_)
    {
        ::close(pipe_[1]); // the child holds the only writer
    }
    ~StalledVmm()
    {
        ::close(pipe_[0]);
        ::close(file_);
        ::close(null_);
    }

    // True once the pipe holds (nearly) a full page the guest could not get
    // rid of: a writer of whole chunks may leave a byte or so free.
    bool wait_until_full(std::chrono::milliseconds limit = std::chrono::milliseconds(20000)) const
    {
        const auto deadline = Clock::now() + limit;
        while (Clock::now() < deadline) {
            int queued = 0;
            if (::ioctl(pipe_[0], FIONREAD, &queued) == 0 && queued >= 4000)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }

    // Its exit status (128 + n for signal n), or nothing if it still runs
    // after `limit`.
    std::optional<int> wait_exit(std::chrono::milliseconds limit)
    {
        const int status = vmm_.wait(limit);
        return status < 0 ? std::nullopt : std::optional<int>(status);
    }

    int pid() const { return vmm_.pid(); }
    std::string err() const { return read_file(err_file_); }
    Clock::time_point started() const { return vmm_.started(); }
    Clock::time_point ended() const { return vmm_.ended(); }

private:
    static std::array<int, 2> make_pipe()
    {
        std::array<int, 2> fds{-1, -1};
        REQUIRE(::pipe2(fds.data(), O_CLOEXEC) == 0);
        ::fcntl(fds[1], F_SETPIPE_SZ, 4096);
        return fds;
    }
    static int open_file(const std::string &file)
    {
        const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        return fd;
    }

    std::string err_file_;
    std::array<int, 2> pipe_;
    int file_;
    int null_;
    SpawnedVmm vmm_;
};

// A guest streaming numbers through COM1 for hours.
std::string streaming_machine(const TempDir &dir)
{
    return dir.write("stream.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\n"
                                    "registers = { rbx = 1000000000 }\n[[image]]\nfile = \"counter.elf\"\n"
                                    "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n");
}

nlohmann::json report_of(const TempDir &dir)
{
    std::ifstream in(dir.path / "report.json");
    REQUIRE(in);
    return nlohmann::json::parse(in);
}

double seconds_between(Clock::time_point a, Clock::time_point b)
{
    return std::chrono::duration<double>(b - a).count();
}

bool send_stop(const std::string &socket_path)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
    bool ok = false;
    for (int attempt = 0; attempt < 200 && !ok; ++attempt) {
        ok = ::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0;
        if (!ok)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const std::string request = "{\"command\": \"stop\"}\n";
    ok = ok && ::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size());
    char reply[256] = {};
    ok = ok && ::read(fd, reply, sizeof reply - 1) > 0 && std::strstr(reply, "\"ok\":true") != nullptr;
    ::close(fd);
    return ok;
}

} // namespace


namespace {

// SIMVIRTIO in poll mode streaming for hours: its device thread writes TX
// bytes to stdout.
std::string simvirtio_poll_machine(const TempDir &dir)
{
    return dir.write("simvirtio.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\n"
                                       "registers = { rsp = 0x100000, rbx = 100000000000 }\n"
                                       "[[image]]\nfile = \"simvirtio-stream.elf\"\nformat = \"elf\"\n"
                                       "[[device]]\nname = \"simvirtio\"\nplugin = \"simvirtio\"\n"
                                       "mmio = [{ base = 0xd0000000, size = 0x1000 }]\n"
                                       "settings = { device_table = 0x800, notify = \"poll\" }\n");
}

// A UNIX socket that accepts one client and never reads from it.
class DeafListener {
public:
    explicit DeafListener(std::string path) : path_(std::move(path))
    {
        listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0);
        REQUIRE(::listen(listener_, 1) == 0);
    }
    ~DeafListener()
    {
        if (client_ >= 0)
            ::close(client_);
        ::close(listener_);
    }

    // Accepts the client, then waits until what it sent stops growing (the
    // socket's buffers are full).
    bool wait_until_full()
    {
        client_ = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client_ < 0)
            return false;
        int last = -1;
        for (int round = 0; round < 400; ++round) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            int queued = 0;
            if (::ioctl(client_, FIONREAD, &queued) != 0)
                return false;
            if (queued > 0 && queued == last)
                return true;
            last = queued;
        }
        return false;
    }

private:
    std::string path_;
    int listener_ = -1;
    int client_ = -1;
};

// How a stalled VM is asked to stop.
enum class StopBy { sigint, timeout, control };

struct StopCase {
    StopBy by;
    int status;
    const char *cause;
};

constexpr StopCase kStops[] = {{StopBy::sigint, 130, "signal"},
                               {StopBy::timeout, 124, "timeout"},
                               {StopBy::control, 0, "control request"}};

std::vector<std::string> stop_arguments(const TempDir &dir, StopBy by, std::vector<std::string> args)
{
    args.push_back("--report");
    args.push_back((dir.path / "report.json").string());
    if (by == StopBy::timeout) {
        args.push_back("--timeout");
        args.push_back("3");
    }
    if (by == StopBy::control) {
        args.push_back("--control");
        args.push_back((dir.path / "control.sock").string());
    }
    return args;
}

// Stops a VM whose output is stalled, `by` the given means, and checks it
// ends within a second of the request with the report written.
void stop_and_check(const TempDir &dir, StalledVmm &vmm, const StopCase &stop)
{
    Clock::time_point asked;
    std::optional<int> status;
    if (stop.by == StopBy::timeout) {
        asked = vmm.started() + std::chrono::seconds(3);
        status = vmm.wait_exit(std::chrono::milliseconds(10000));
    } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(200)); // the guest pushes on against the stall
        asked = Clock::now();
        if (stop.by == StopBy::sigint)
            ::kill(vmm.pid(), SIGINT);
        else
            CHECK(send_stop((dir.path / "control.sock").string()));
        status = vmm.wait_exit(std::chrono::milliseconds(5000));
    }
    INFO("stderr:\n" << vmm.err());
    REQUIRE(status.has_value());
    CHECK(*status == stop.status);
    CHECK(seconds_between(asked, vmm.ended()) < 1.0);
    const nlohmann::json report = report_of(dir);
    CHECK(report["exit_status"] == stop.status);
    CHECK(report["stop"]["cause"] == stop.cause);
}

} // namespace

TEST_CASE("serial-file on a socket nobody reads: SIGINT, --timeout and a control stop end the VM within a second",
          "[e2e][stalled]")
{
    for (const StopCase &stop : kStops) {
        TempDir dir("stalled-socket");
        DeafListener listener((dir.path / "deaf.sock").string());
        const std::string machine =
            dir.write("socket.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\n"
                                     "registers = { rbx = 1000000000 }\n[[image]]\nfile = \"counter.elf\"\n"
                                     "[[device]]\nname = \"com1\"\nplugin = \"serial-file\"\nsettings = { socket = \"" +
                                         (dir.path / "deaf.sock").string() + "\" }\n");
        StalledVmm vmm(dir, stop_arguments(dir, stop.by, {"--config", machine}));
        REQUIRE(listener.wait_until_full());
        stop_and_check(dir, vmm, stop);
    }
}

TEST_CASE("SIMVIRTIO poll mode with stdout a full pipe: SIGINT, --timeout and a control stop end the VM within a "
          "second",
          "[e2e][stalled]")
{
    for (const StopCase &stop : kStops) {
        TempDir dir("stalled-simvirtio");
        StalledVmm vmm(dir, stop_arguments(dir, stop.by, {"--config", simvirtio_poll_machine(dir)}));
        REQUIRE(vmm.wait_until_full());
        stop_and_check(dir, vmm, stop);
    }
}

// A device that logs every access (port-logger in place of COM1, so the
// counter guest makes two log lines per byte) with stderr a full pipe: log
// lines are dropped, never waited for.
TEST_CASE("with stderr a full pipe nobody reads and a device logging every access, SIGINT, --timeout and a "
          "control stop end the VM within a second",
          "[e2e][stalled]")
{
    for (const StopCase &stop : kStops) {
        TempDir dir("stalled-stderr");
        const std::string machine =
            dir.write("logging.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\n"
                                      "registers = { rbx = 1000000000 }\n[[image]]\nfile = \"counter.elf\"\n"
                                      "[[device]]\nname = \"log\"\nplugin = \"port-logger\"\n"
                                      "pio = [{ base = 0x3f8, size = 8 }]\nsettings = { read_value = 0x60 }\n"
                                      "log = \"info\"\n"); // it logs every access
        StalledVmm vmm(dir, stop_arguments(dir, stop.by, {"--config", machine}), true);
        REQUIRE(vmm.wait_until_full());
        stop_and_check(dir, vmm, stop);
    }
}

// The console plugin in place of COM1 (its reads answer 0xE9, which has
// LSR's THRE bit set), so the counter guest streams through it to stdout.
TEST_CASE("the console plugin with stdout a full pipe: SIGINT, --timeout and a control stop end the VM within a "
          "second",
          "[e2e][stalled]")
{
    for (const StopCase &stop : kStops) {
        TempDir dir("stalled-console");
        const std::string machine =
            dir.write("console.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\n"
                                      "registers = { rbx = 1000000000 }\n[[image]]\nfile = \"counter.elf\"\n"
                                      "[[device]]\nname = \"console\"\nplugin = \"console\"\n"
                                      "pio = [{ base = 0x3f8, size = 8 }]\n");
        StalledVmm vmm(dir, stop_arguments(dir, stop.by, {"--config", machine}));
        REQUIRE(vmm.wait_until_full());
        stop_and_check(dir, vmm, stop);
    }
}

TEST_CASE("serial with stdout a full pipe nobody reads: SIGINT, --timeout and a control stop end the VM within a "
          "second",
          "[e2e][stalled]")
{
    for (const StopCase &stop : kStops) {
        TempDir dir("stalled-serial");
        StalledVmm vmm(dir, stop_arguments(dir, stop.by, {"--config", streaming_machine(dir)}));
        REQUIRE(vmm.wait_until_full());
        stop_and_check(dir, vmm, stop);
    }
}
