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
// at once) and stderr in a file.
class StalledVmm {
public:
    StalledVmm(const TempDir &dir, const std::vector<std::string> &args)
        : err_file_((dir.path / "stderr.txt").string()), pipe_(make_pipe()), err_(open_err(err_file_)),
          null_(::open("/dev/null", O_RDONLY | O_CLOEXEC)), vmm_(args, null_, pipe_[1], err_)
    {
        ::close(pipe_[1]);
        pipe_[1] = -1;
    }
    ~StalledVmm()
    {
        ::close(pipe_[0]);
        ::close(err_);
        ::close(null_);
    }

    // True once the pipe holds a full page the guest could not get rid of.
    bool wait_until_full(std::chrono::milliseconds limit = std::chrono::milliseconds(20000)) const
    {
        const auto deadline = Clock::now() + limit;
        while (Clock::now() < deadline) {
            int queued = 0;
            if (::ioctl(pipe_[0], FIONREAD, &queued) == 0 && queued >= 4096)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }

    SpawnedVmm &process() { return vmm_; }
    std::string err() const { return read_file(err_file_); }

private:
    static std::array<int, 2> make_pipe()
    {
        std::array<int, 2> fds{-1, -1};
        REQUIRE(::pipe2(fds.data(), O_CLOEXEC) == 0);
        ::fcntl(fds[1], F_SETPIPE_SZ, 4096);
        return fds;
    }
    static int open_err(const std::string &file)
    {
        const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        return fd;
    }

    std::string err_file_;
    std::array<int, 2> pipe_;
    int err_;
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

TEST_CASE("with stdout a full pipe nobody reads, SIGINT ends the VM within a second, report written",
          "[e2e][stalled]")
{
    TempDir dir("stalled-sigint");
    StalledVmm vmm(dir, {"--config", streaming_machine(dir), "--report", (dir.path / "report.json").string()});
    REQUIRE(vmm.wait_until_full());
    std::this_thread::sleep_for(std::chrono::milliseconds(200)); // the guest pushes on against the full pipe
    const auto signalled = Clock::now();
    ::kill(vmm.process().pid(), SIGINT);
    const int status = vmm.process().wait(std::chrono::milliseconds(5000));
    INFO("stderr:\n" << vmm.err());
    REQUIRE(status == 130);
    CHECK(seconds_between(signalled, vmm.process().ended()) < 1.0);
    const nlohmann::json report = report_of(dir);
    CHECK(report["exit_status"] == 130);
    CHECK(report["stop"]["cause"] == "signal");
}

TEST_CASE("with stdout a full pipe nobody reads, --timeout ends the VM within a second of it", "[e2e][stalled]")
{
    TempDir dir("stalled-timeout");
    StalledVmm vmm(dir, {"--config", streaming_machine(dir), "--timeout", "2", "--report",
                         (dir.path / "report.json").string()});
    REQUIRE(vmm.wait_until_full());
    const int status = vmm.process().wait(std::chrono::milliseconds(8000));
    INFO("stderr:\n" << vmm.err());
    REQUIRE(status == 124);
    CHECK(seconds_between(vmm.process().started(), vmm.process().ended()) < 3.0);
    const nlohmann::json report = report_of(dir);
    CHECK(report["exit_status"] == 124);
    CHECK(report["stop"]["cause"] == "timeout");
}

TEST_CASE("with stdout a full pipe nobody reads, a control-socket stop ends the VM within a second",
          "[e2e][stalled]")
{
    TempDir dir("stalled-control");
    const std::string socket = (dir.path / "control.sock").string();
    StalledVmm vmm(dir, {"--config", streaming_machine(dir), "--control", socket, "--report",
                         (dir.path / "report.json").string()});
    REQUIRE(vmm.wait_until_full());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto asked = Clock::now();
    CHECK(send_stop(socket));
    const int status = vmm.process().wait(std::chrono::milliseconds(5000));
    INFO("stderr:\n" << vmm.err());
    REQUIRE(status == 0);
    CHECK(seconds_between(asked, vmm.process().ended()) < 1.0);
    const nlohmann::json report = report_of(dir);
    CHECK(report["stop"]["cause"] == "control request");
}
