// The serial plugins on the device runtime (ABI 1.4), without KVM: a real
// event loop delivers the input watch, the output's writable watch and the
// character-timeout timer; no register read drives them.
#include "wait_for.hpp"
#include "temp_dir.hpp"
#include "kvm/guest_memory.hpp"
#include "plugin/device_instance.hpp"
#include "plugin/plugin_library.hpp"
#include "runtime/device_runtime.hpp"
#include "runtime/event_loop.hpp"

#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

using namespace vmm;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

using vmm::test::TempDir;
using vmm::test::wait_for;

// How long the event loop may take to deliver what a test waits for.
constexpr std::chrono::milliseconds kLimit(3000);

namespace {

struct FakeHost final : HostServices {
    GuestMemory ram;
    FakeHost() { ram.add_ram("ram", 0, 0x1000); }
    GuestMemory &memory() override { return ram; }
    void request_stop(int32_t, const std::string &) override {}
};

// A serial device realized on a running event loop, with no irqchip.
struct Rig {
    FakeHost host;
    EventLoop loop;
    std::unique_ptr<DeviceInstance> device;

    Rig(const std::string &plugin, const std::vector<Setting> &settings)
    {
        loop.start();
        device = std::make_unique<DeviceInstance>(
            PluginLibrary::load(fs::path(vmm::test::paths::plugin_dir()) / ("vmm-" + plugin + ".so")), "com1",
            std::vector<DeviceRegion>{{Space::pio, 8}}, settings, host, DeviceWiring{{std::nullopt}, false});
        device->realize(RuntimeServices{&loop, nullptr, -1});
    }
    ~Rig()
    {
        loop.stop(); // as the machine does: no callback into a device being destroyed
        device.reset();
    }
    uint8_t reg(uint64_t offset)
    {
        uint8_t value = 0;
        device->read(0, offset, &value, 1);
        return value;
    }
    void set(uint64_t offset, uint8_t value) { device->write(0, offset, &value, 1); }
};

} // namespace

TEST_CASE("serial on the runtime: input from a FIFO arrives through the watch, paced by the FIFO", "[serial][runtime]")
{
    TempDir dir("serial-rt-in");
    const std::string fifo = (dir.path / "in").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const int keep_open = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK); // so the writer's open does not block
    const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    REQUIRE(writer >= 0);
    Rig rig("serial-file", {{"path", std::string("/dev/null"), {}}, {"input_from", "file:" + fifo, {}}});
    ::close(keep_open);
    CHECK((rig.reg(5) & 0x01) == 0);
    REQUIRE(::write(writer, "hello", 5) == 5);
    // With a runtime, register reads do not poll the input: only the
    // watch can bring it in.
    CHECK(wait_for([&] { return (rig.reg(5) & 0x01) != 0; }, kLimit));
    std::string got;
    for (int i = 0; i < 1000 && got.size() < 5; ++i) {
        if (rig.reg(5) & 0x01)
            got.push_back(static_cast<char>(rig.reg(0)));
        else
            std::this_thread::sleep_for(1ms);
    }
    CHECK(got == "hello");
    ::close(writer);
}

TEST_CASE("serial on the runtime: the character timeout comes from the timer", "[serial][runtime]")
{
    TempDir dir("serial-rt-timeout");
    const std::string fifo = (dir.path / "in").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const int keep_open = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    Rig rig("serial-file", {{"path", std::string("/dev/null"), {}}, {"input_from", "file:" + fifo, {}}});
    ::close(keep_open);
    rig.set(2, 0xc1); // FIFOs, trigger 14
    rig.set(1, 0x01); // ERBFI
    REQUIRE(::write(writer, "ab", 2) == 2);
    CHECK(wait_for([&] { return (rig.reg(5) & 0x01) != 0; }, kLimit));
    // Four character times at 115200 baud are 0.35 ms: the IIR shows the
    // timeout (0xcc) once the timer went off.
    CHECK(wait_for([&] { return rig.reg(2) == 0xcc; }, kLimit));
    CHECK(rig.reg(0) == 'a');
    CHECK(rig.reg(2) == 0xc1);
    ::close(writer);
}

TEST_CASE("serial on the runtime: a full output drains through the writable watch", "[serial][runtime]")
{
    TempDir dir("serial-rt-out");
    const std::string fifo = (dir.path / "out").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    REQUIRE(reader >= 0);
    ::fcntl(reader, F_SETPIPE_SZ, 4096);
    Rig rig("serial-file", {{"path", fifo, {}}});
    std::size_t written = 0;
    while (written < 100000 && (rig.reg(5) & 0x20)) {
        rig.set(0, 'x');
        ++written;
    }
    REQUIRE(written < 100000); // the transmitter went busy
    // Read everything without touching the device: the watch refills the pipe.
    std::size_t received = 0;
    char buffer[4096];
    CHECK(wait_for([&] {
        for (ssize_t n; (n = ::read(reader, buffer, sizeof buffer)) > 0;)
            received += static_cast<std::size_t>(n);
        return received == written;
    }, kLimit));
    CHECK((rig.reg(5) & 0x60) == 0x60);
    ::close(reader);
}
