// `--control PATH` where another vmm listens is refused (status 2), and the
// first keeps its socket; a stale socket file nobody listens on is replaced.
#include "control_client.hpp"
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <future>

using namespace vmm::test;

namespace {

std::string endless_machine(const TempDir &dir)
{
    return dir.write("m.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\n"
                               "registers = { rbx = 1000000000 }\n[[image]]\nfile = \"counter.elf\"\n"
                               "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n");
}

} // namespace

TEST_CASE("a second vmm on a live control socket is refused, and the first keeps it", "[e2e][control]")
{
    TempDir dir("control-live");
    const std::string socket = (dir.path / "control.sock").string();
    const std::string machine = endless_machine(dir);
    auto first = std::async(std::launch::async, [&] { return run_vmm({"--config", machine, "--control", socket}); });
    ControlClient probe(socket); // waits until the first one listens
    REQUIRE(probe.connected());

    const ProcessResult second = run_vmm({"--config", machine, "--control", socket});
    show(second);
    CHECK(second.exit_status == 2);
    CHECK_THAT(second.err,
               Catch::Contains("control socket " + socket + " is in use: another vmm (or program) is listening on it"));

    ControlClient control(socket); // a new connection: the path is still the first one's
    REQUIRE(control.connected());
    CHECK_THAT(control.request({{"command", "stop"}}), IsOk());
    const ProcessResult r = first.get();
    show(r);
    CHECK(r.exit_status == 0);
}

TEST_CASE("a stale control socket file (nobody listening) is replaced", "[e2e][control]")
{
    TempDir dir("control-stale");
    const std::string socket = (dir.path / "control.sock").string();
    {
        // Bound and closed without unlinking: what a killed vmm leaves.
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::memcpy(address.sun_path, socket.c_str(), socket.size() + 1);
        REQUIRE(::bind(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0);
        ::close(fd);
    }
    const std::string machine = endless_machine(dir);
    auto vmm = std::async(std::launch::async, [&] { return run_vmm({"--config", machine, "--control", socket}); });
    ControlClient control(socket);
    REQUIRE(control.connected());
    CHECK_THAT(control.request({{"command", "stop"}}), IsOk());
    const ProcessResult r = vmm.get();
    show(r);
    CHECK(r.exit_status == 0);
}

TEST_CASE("at exit vmm removes its own control socket file only, not one that replaced it", "[e2e][control]")
{
    TempDir dir("control-replaced");
    const std::string socket = (dir.path / "control.sock").string();
    const std::string machine = endless_machine(dir);
    int vmm_pid = -1;
    std::promise<int> started;
    auto first = std::async(std::launch::async, [&] {
        ProcessOptions options;
        options.on_start = [&started](int pid) { started.set_value(pid); };
        return run_vmm({"--config", machine, "--control", socket}, options);
    });
    vmm_pid = started.get_future().get();
    {
        ControlClient probe(socket); // waits until it listens
        REQUIRE(probe.connected());
    }
    // Someone else takes the path over.
    REQUIRE(::unlink(socket.c_str()) == 0);
    const int other = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, socket.c_str(), socket.size() + 1);
    REQUIRE(::bind(other, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0);
    REQUIRE(::listen(other, 1) == 0);

    ::kill(vmm_pid, SIGINT);
    const ProcessResult r = first.get();
    show(r);
    CHECK(r.exit_status == 130);
    CHECK(std::filesystem::exists(socket)); // the other listener's file is still there
    ::close(other);
}
