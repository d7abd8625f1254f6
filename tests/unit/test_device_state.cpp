// Device state (ABI 1.3): the SDK's versioned blob, and the serial device's
// state moving between its two implementations through the real ABI.
#include "kvm/guest_memory.hpp"
#include "plugin/device_instance.hpp"
#include "plugin/plugin_library.hpp"
#include "support/errors.hpp"

#include "test_paths.hpp"

#include <vmm/sdk/state.hpp>

#include <catch2/catch.hpp>

#include <filesystem>

using namespace vmm;
using vmm::sdk::StateError;
using vmm::sdk::StateReader;
using vmm::sdk::StateWriter;

namespace {

struct FakeHost final : HostServices {
    GuestMemory ram;
    FakeHost() { ram.add_ram("ram", 0, 0x1000); }
    GuestMemory &memory() override { return ram; }
    void request_stop(int32_t, const std::string &) override {}
};

std::shared_ptr<PluginLibrary> bundled(const std::string &name)
{
    return PluginLibrary::load(std::filesystem::path(vmm::test::paths::plugin_dir()) / ("vmm-" + name + ".so"));
}

std::string state_error(const std::vector<uint8_t> &blob)
{
    try {
        StateReader r(blob, "uart16550", 1);
        r.u8();
        r.finish();
    } catch (const StateError &e) {
        return e.what();
    }
    return "";
}

uint8_t reg(DeviceInstance &d, uint64_t offset)
{
    uint8_t value = 0;
    d.read(0, offset, &value, 1);
    return value;
}

void set_reg(DeviceInstance &d, uint64_t offset, uint8_t value) { d.write(0, offset, &value, 1); }

} // namespace

TEST_CASE("a state blob reads back what was written", "[state]")
{
    const std::vector<uint8_t> blob =
        StateWriter("demo", 3).u8(1).u16(0x2233).u32(0x44556677).u64(~0ull).boolean(true).string("hi").finish();
    StateReader r(blob, "demo", 3, 2);
    CHECK(r.version() == 3);
    CHECK(r.u8() == 1);
    CHECK(r.u16() == 0x2233);
    CHECK(r.u32() == 0x44556677);
    CHECK(r.u64() == ~0ull);
    CHECK(r.boolean());
    CHECK(r.string() == "hi");
    CHECK_NOTHROW(r.finish());
}

TEST_CASE("a state blob of another format, version or length is refused", "[state]")
{
    CHECK(state_error({1, 2, 3}) == "not a device state blob");
    CHECK(state_error(StateWriter("other", 1).u8(0).finish()) == "state of format 'other', expected 'uart16550'");
    CHECK(state_error(StateWriter("uart16550", 2).u8(0).finish()) ==
          "state format 'uart16550' version 2 is not supported (this plugin reads 1 to 1)");
    std::vector<uint8_t> cut = StateWriter("uart16550", 1).u8(0).finish();
    cut.pop_back();
    CHECK(state_error(cut) == "state blob length does not match its header");
    CHECK(state_error(StateWriter("uart16550", 1).u8(0).u8(0).finish()) == "state blob has 1 unread bytes");
    // A length field pointing past the end is caught before any copy.
    std::vector<uint8_t> lying = StateWriter("uart16550", 1).u64(1000).finish();
    CHECK_THROWS_WITH(([&] {
                          StateReader r(lying, "uart16550", 1);
                          r.bytes();
                      }()),
                      "state blob is truncated");
}

TEST_CASE("the serial device's state moves to serial-file and back", "[state][swap]")
{
    FakeHost host;
    const std::filesystem::path out = std::filesystem::temp_directory_path() / ("vmm-state-" + std::to_string(::getpid()));
    DeviceInstance serial(bundled("serial"), "com1", {{Space::pio, 8}}, {{"input", std::string("xyz"), {}}}, host);
    set_reg(serial, 3, 0x83); // LCR with DLAB
    set_reg(serial, 0, 0x0c); // divisor low
    set_reg(serial, 3, 0x03); // DLAB off
    set_reg(serial, 7, 0x5a); // scratch
    CHECK(reg(serial, 0) == 'x'); // one input byte consumed
    REQUIRE(serial.has_state());
    const std::vector<uint8_t> blob = serial.save_state();

    DeviceInstance file(bundled("serial-file"), "com1", {{Space::pio, 8}}, {{"path", out.string(), {}}}, host);
    file.load_state(blob);
    CHECK(reg(file, 7) == 0x5a);
    CHECK(reg(file, 5) & 0x01); // data ready: "yz" moved along
    CHECK(reg(file, 0) == 'y');
    set_reg(file, 3, 0x83);
    CHECK(reg(file, 0) == 0x0c); // the divisor moved too
    set_reg(file, 3, 0x03);

    // And back: the other implementation reads the same format.
    serial.load_state(file.save_state());
    CHECK(reg(serial, 0) == 'z');
    std::filesystem::remove(out);
}

TEST_CASE("a device refuses a state it cannot use, with the plugin's reason", "[state][swap]")
{
    FakeHost host;
    DeviceInstance serial(bundled("serial"), "com1", {{Space::pio, 8}}, {}, host);
    CHECK_THROWS_WITH(serial.load_state(StateWriter("crc32", 1).u64(0).finish()),
                      Catch::Contains("device 'com1' (plugin 'serial') refused the state") &&
                          Catch::Contains("state of format 'crc32', expected 'uart16550'"));
    DeviceInstance exit_device(bundled("debug-exit"), "exit", {{Space::pio, 4}}, {}, host);
    CHECK_FALSE(exit_device.has_state());
    CHECK_THROWS_WITH(exit_device.save_state(), "device 'exit' (plugin 'debug-exit') cannot save its state");
}
