// The serial plugins' input back ends and output, through the real ABI,
// without KVM and without the device runtime (a host that never calls
// realize): the device starts at its first access, and register reads poll
// the input and drain the output.
#include "temp_dir.hpp"
#include "kvm/guest_memory.hpp"
#include "plugin/device_instance.hpp"
#include "plugin/plugin_library.hpp"

#include "capture.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

using namespace vmm;
namespace fs = std::filesystem;

using vmm::test::TempDir;

namespace {

struct FakeHost final : HostServices {
    GuestMemory ram;
    int stops = 0;
    FakeHost() { ram.add_ram("ram", 0, 0x1000); }
    GuestMemory &memory() override { return ram; }
    void request_stop(int32_t, const std::string &) override { ++stops; }
};

std::shared_ptr<PluginLibrary> bundled(const std::string &name)
{
    return PluginLibrary::load(fs::path(vmm::test::paths::plugin_dir()) / ("vmm-" + name + ".so"));
}

uint8_t reg(DeviceInstance &d, uint64_t offset)
{
    uint8_t value = 0;
    d.read(0, offset, &value, 1);
    return value;
}

void set_reg(DeviceInstance &d, uint64_t offset, uint8_t value) { d.write(0, offset, &value, 1); }

// Everything the guest can read now (polling LSR.DR), up to `limit` bytes.
std::string drain_rx(DeviceInstance &d, std::size_t limit = 1 << 20)
{
    std::string text;
    while (text.size() < limit && (reg(d, 5) & 0x01))
        text.push_back(static_cast<char>(reg(d, 0)));
    return text;
}

std::string read_file(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

TEST_CASE("serial-file: input_from = file: is read as the guest makes room", "[serial]")
{
    TempDir dir("serial-file-input");
    const std::string text(100, 'k');
    std::ofstream(dir.path / "in.txt") << text;
    FakeHost host;
    DeviceInstance d(bundled("serial-file"), "com1", {{Space::pio, 8}},
                     {{"path", (dir.path / "out.txt").string(), {}},
                      {"input", std::string("pre:"), {}},
                      {"input_from", "file:" + (dir.path / "in.txt").string(), {}}},
                     host);
    set_reg(d, 2, 0x01); // FIFOs on
    CHECK(drain_rx(d) == "pre:" + text);
    for (char c : std::string("out"))
        set_reg(d, 0, static_cast<uint8_t>(c));
    CHECK(read_file(dir.path / "out.txt") == "out");
}

TEST_CASE("serial: a missing input file is a configuration error naming the setting", "[serial]")
{
    FakeHost host;
    CHECK_THROWS_WITH(DeviceInstance(bundled("serial"), "com1", {{Space::pio, 8}},
                                     {{"input_from", std::string("file:/nonexistent/in"), {}}}, host),
                      Catch::Contains("input_from: cannot read '/nonexistent/in': No such file or directory"));
    CHECK_THROWS_WITH(DeviceInstance(bundled("serial"), "com1", {{Space::pio, 8}},
                                     {{"input_from", std::string("udp:1"), {}}}, host),
                      Catch::Contains("input_from: 'udp:1' is not one of"));
    CHECK_THROWS_WITH(DeviceInstance(bundled("serial-file"), "com1", {{Space::pio, 8}}, {}, host),
                      Catch::Contains("give `path` (a file), `socket` (a UNIX socket), or `input_from`"));
}

TEST_CASE("serial-file: input_from = listen: takes one client for input and output", "[serial]")
{
    TempDir dir("serial-listen");
    const std::string path = (dir.path / "s").string();
    FakeHost host;
    DeviceInstance d(bundled("serial-file"), "com1", {{Space::pio, 8}}, {{"input_from", "listen:" + path, {}}}, host);
    // Output before a client waits for it.
    for (char c : std::string("hi"))
        set_reg(d, 0, static_cast<uint8_t>(c));
    REQUIRE(fs::exists(path));

    const int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::connect(client, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0);
    REQUIRE(::send(client, "abc", 3, 0) == 3);
    std::string got;
    for (int i = 0; i < 100 && got.size() < 3; ++i) {
        got += drain_rx(d);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(got == "abc");
    set_reg(d, 0, '!');
    char buffer[16] = {};
    std::string out;
    for (int i = 0; i < 100 && out.size() < 3; ++i) {
        const ssize_t n = ::recv(client, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0)
            out.append(buffer, static_cast<std::size_t>(n));
        else
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        reg(d, 5);
    }
    CHECK(out == "hi!");
    ::close(client);
}

TEST_CASE("serial: back-pressure: the guest sees a busy transmitter instead of blocking on a full pipe", "[serial]")
{
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    ::fcntl(fds[1], F_SETPIPE_SZ, 4096);
    std::fflush(stdout);
    const int saved = ::dup(STDOUT_FILENO);
    ::dup2(fds[1], STDOUT_FILENO);
    std::size_t written = 0;
    bool busy = false;
    {
        FakeHost host;
        DeviceInstance d(bundled("serial"), "com1", {{Space::pio, 8}}, {}, host);
        const auto start = std::chrono::steady_clock::now();
        // A polling driver: write while LSR.THRE says so.
        for (int i = 0; i < 100000 && !busy; ++i) {
            if (reg(d, 5) & 0x20) {
                set_reg(d, 0, 'x');
                ++written;
            } else {
                busy = true;
            }
        }
        CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
        ::dup2(saved, STDOUT_FILENO);
        ::close(saved);
        // The guest stopped at the pipe plus the device's buffer (16 KiB).
        CHECK(busy);
        CHECK(written >= 16 * 1024);
        CHECK(written <= 16 * 1024 + 4096 + 1);
        // The reader catches up: the transmitter is free again.
        char buffer[4096];
        ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
        while (::read(fds[0], buffer, sizeof buffer) > 0) {
        }
        CHECK((reg(d, 5) & 0x20) != 0);
    }
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("serial-file: socket and input_from = connect: to the same path share one connection", "[serial]")
{
    TempDir dir("serial-connect");
    const std::string path = (dir.path / "s").string();
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::bind(listener, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener, 4) == 0);
    FakeHost host;
    DeviceInstance d(bundled("serial-file"), "com1", {{Space::pio, 8}},
                     {{"socket", path, {}}, {"input_from", "connect:" + path, {}}}, host);
    const int peer = ::accept(listener, nullptr, nullptr);
    REQUIRE(peer >= 0);
    set_reg(d, 0, 'o'); // starts the device: its input is the same connection
    REQUIRE(::send(peer, "in", 2, 0) == 2);
    std::string got;
    for (int i = 0; i < 100 && got.size() < 2; ++i) {
        got += drain_rx(d);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(got == "in");
    char buffer[8] = {};
    CHECK(::recv(peer, buffer, sizeof buffer, 0) == 1);
    CHECK(buffer[0] == 'o');
    // No second connection was made.
    ::fcntl(listener, F_SETFL, O_NONBLOCK);
    CHECK(::accept(listener, nullptr, nullptr) < 0);
    ::close(peer);
    ::close(listener);
}
