// Device instances through the real ABI, without KVM: settings reach the
// plugin, host services are bounds-checked, exceptions become errors.
#include "capture.hpp"
#include "kvm/guest_memory.hpp"
#include "plugin/device_instance.hpp"
#include "plugin/plugin_library.hpp"
#include "support/logging.hpp"

#include "support/input_error_text.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <functional>

using namespace vmm;
using vmm::test::input_error_text;

namespace {

struct FakeHost final : HostServices {
    GuestMemory ram;
    int stops = 0;
    int32_t last_status = 0;
    std::string last_requester;
    FakeHost() { ram.add_ram("ram", 0, 0x2000); }
    GuestMemory &memory() override { return ram; }
    void request_stop(int32_t status, const std::string &requester) override
    {
        ++stops;
        last_status = status;
        last_requester = requester;
    }
};

std::shared_ptr<PluginLibrary> probe_plugin()
{
    static auto plugin =
        PluginLibrary::load(std::filesystem::path(vmm::test::paths::fixture_dir()) / "vmm-probe.so");
    return plugin;
}

Setting setting(const std::string &key, SettingValue value) { return Setting{key, std::move(value), {}}; }

uint64_t read64(DeviceInstance &device, uint64_t offset)
{
    uint8_t bytes[8];
    device.read(0, offset, bytes, 8);
    uint64_t value;
    std::memcpy(&value, bytes, 8);
    return value;
}

void write64(DeviceInstance &device, uint64_t offset, uint64_t value)
{
    uint8_t bytes[8];
    std::memcpy(bytes, &value, 8);
    device.write(0, offset, bytes, 8);
}

} // namespace

TEST_CASE("settings reach the plugin with their types", "[device]")
{
    FakeHost host;
    DeviceInstance device(probe_plugin(), "p", {{Space::mmio, 0x40}},
                          {setting("number", int64_t{-42}), setting("text", std::string("hello")),
                           setting("flag", true), setting("ratio", 0.25)},
                          host);
    CHECK(static_cast<int64_t>(read64(device, 0x28)) == -42);
    CHECK(read64(device, 0x30) == 5);
}

TEST_CASE("guest memory services are bounds-checked", "[device]")
{
    FakeHost host;
    const uint64_t pattern = 0x1122334455667788;
    REQUIRE(host.ram.write(0x100, &pattern, 8));
    DeviceInstance device(probe_plugin(), "p", {{Space::mmio, 0x40}}, {}, host);

    write64(device, 0x08, 0x100); // gpa
    write64(device, 0x10, 0);     // guest_read
    CHECK(read64(device, 0x08) == 0);
    CHECK(read64(device, 0x10) == pattern);
    CHECK(read64(device, 0x38) == 1);

    write64(device, 0x08, 0x1ffc); // 8 bytes from here run past RAM's end
    write64(device, 0x10, 0);
    CHECK(read64(device, 0x08) == 1);
    CHECK(read64(device, 0x38) == 0);

    write64(device, 0x08, ~0ull - 3); // would wrap around
    write64(device, 0x18, 0xdead);
    CHECK(read64(device, 0x08) == 1);

    write64(device, 0x08, 0x200);
    write64(device, 0x18, 0xbeef);
    CHECK(read64(device, 0x08) == 0);
    uint64_t written = 0;
    REQUIRE(host.ram.read(0x200, &written, 8));
    CHECK(written == 0xbeef);
}

TEST_CASE("a stop request names the device", "[device]")
{
    FakeHost host;
    DeviceInstance device(probe_plugin(), "stopper", {{Space::mmio, 0x40}}, {}, host);
    write64(device, 0x00, 7);
    CHECK(host.stops == 1);
    CHECK(host.last_status == 7);
    CHECK(host.last_requester == "stopper");
}

TEST_CASE("an exception in a callback becomes an error; reads see all ones", "[device]")
{
    FakeHost host;
    DeviceInstance device(probe_plugin(), "p", {{Space::mmio, 0x40}}, {}, host);
    CHECK(read64(device, 0x20) == ~0ull);
    write64(device, 0x20, 1);
    CHECK(device.failed_calls() == 2);
    // The instance still works afterwards.
    CHECK(read64(device, 0x30) == 0);
}

TEST_CASE("a failing create is an input error carrying the plugin's reason", "[device]")
{
    FakeHost host;
    const std::string text = input_error_text(
        [&] { DeviceInstance(probe_plugin(), "p", {{Space::mmio, 0x40}}, {setting("fail_create", true)}, host); });
    CHECK(text == "device 'p' (plugin 'probe', " + probe_plugin()->file().string() +
                      "): create failed: fail_create is set");

    const std::string small = input_error_text([&] { DeviceInstance(probe_plugin(), "q", {{Space::pio, 8}}, {}, host); });
    CHECK_THAT(small, Catch::EndsWith("create failed: needs a region of at least 0x40 bytes"));
}

TEST_CASE("a C plugin whose create fails is explained by what it logged", "[device]")
{
    FakeHost host;
    auto plugin = PluginLibrary::load(std::filesystem::path(vmm::test::paths::fixture_dir()) / "vmm-create-fails.so");
    const std::string text = input_error_text([&] { DeviceInstance(plugin, "c", {}, {}, host); });
    CHECK(text == "device 'c' (plugin 'create-fails', " + plugin->file().string() +
                      "): the flux capacitor is not connected");
}

TEST_CASE("instances of plugins built for earlier minor versions work in this host", "[device][abi]")
{
    for (const char *file : {"vmm-old-minor-1.0.so", "vmm-old-minor-1.1.so", "vmm-old-minor-1.2.so",
                             "vmm-old-minor-1.3.so", "vmm-old-minor-1.4.so", "vmm-old-minor-1.5.so"}) {
        INFO(file);
        FakeHost host;
        auto plugin = PluginLibrary::load(std::filesystem::path(vmm::test::paths::fixture_dir()) / file);
        DeviceInstance device(plugin, "old", {{Space::pio, 4}}, {setting("value", int64_t{0x1234})}, host);
        uint8_t bytes[2] = {};
        device.read(0, 0, bytes, 2);
        CHECK(bytes[0] == 0x34);
        CHECK(bytes[1] == 0x12);
        const uint8_t status = 9;
        device.write(0, 0, &status, 1);
        CHECK(host.stops == 1);
        CHECK(host.last_status == 9);
        CHECK(device.failed_calls() == 0);
    }
}

TEST_CASE("a device learns its own region's address only by asking (ABI 1.1)", "[device][abi]")
{
    FakeHost host;
    DeviceInstance device(probe_plugin(), "p", {{Space::mmio, 0x40, 0xd0000000}}, {}, host);
    CHECK(read64(device, 0x18) == 0xd0000000);
}

namespace {

// The same plugin with the shared C++ runtime, or with a copy of its own
// (as bundled plugins are built): either way its exceptions are caught here.
std::shared_ptr<PluginLibrary> throws_plugin(const std::string &name)
{
    return PluginLibrary::load(std::filesystem::path(vmm::test::paths::fixture_dir()) / ("vmm-" + name + ".so"));
}

std::string system_error_text(const std::function<void()> &f)
{
    try {
        f();
    } catch (const SystemError &e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("an exception a plugin lets escape from create is an input error naming the plugin", "[device][abi]")
{
    const std::string file = GENERATE(as<std::string>(), "throws", "throws-private-runtime");
    INFO("vmm-" << file << ".so");
    const auto plugin = throws_plugin(file);
    FakeHost host;
    const std::string prefix = "device 't' (plugin 'throws', " + plugin->file().string() + "): ";
    // A type defined in the plugin: its what() is the plugin's code, read
    // before the exception leaves the call.
    CHECK(input_error_text([&] {
              DeviceInstance(plugin, "t", {}, {setting("throw_in", std::string("create"))}, host);
          }) == prefix + "create threw an exception across the C ABI: create exploded");
    CHECK(input_error_text([&] {
              DeviceInstance(plugin, "t", {}, {setting("throw_in", std::string("create-int"))}, host);
          }) == prefix + "create threw an exception across the C ABI: an exception that is not a std::exception");
}

TEST_CASE("exceptions escaping a plugin's raw C calls become errors and the device goes on", "[device][abi]")
{
    const std::string file = GENERATE(as<std::string>(), "throws", "throws-private-runtime");
    INFO("vmm-" << file << ".so");
    const auto plugin = throws_plugin(file);
    FakeHost host;
    {
        DeviceInstance device(plugin, "t", {{Space::mmio, 0x40}}, {}, host);
        CHECK(read64(device, 0x20) == ~0ull); // throws a std::exception subclass
        write64(device, 0x20, 1);             // throws an int
        CHECK(device.failed_calls() == 2);
        CHECK(read64(device, 0x00) == 0x5a5a5a5a5a5a5a5aull);
        CHECK(device.save_state().empty());
        device.load_state({});
    }
    {
        DeviceInstance device(plugin, "t", {}, {setting("throw_in", std::string("save_state"))}, host);
        CHECK(system_error_text([&] { device.save_state(); }) ==
              "device 't' (plugin 'throws'): save_state threw an exception across the C ABI: save_state exploded");
    }
    {
        DeviceInstance device(plugin, "t", {}, {setting("throw_in", std::string("load_state"))}, host);
        CHECK(system_error_text([&] { device.load_state({1, 2, 3}); }) ==
              "device 't' (plugin 'throws'): load_state threw an exception across the C ABI: load_state exploded");
    }
    // destroy() throws: logged, and the host goes on.
    {
        DeviceInstance device(plugin, "t", {}, {setting("throw_in", std::string("destroy"))}, host);
    }
}

TEST_CASE("errors a plugin logs from several threads during create are all kept", "[device]")
{
    FakeHost host;
    auto plugin = PluginLibrary::load(std::filesystem::path(vmm::test::paths::fixture_dir()) / "vmm-log-storm.so");
    const auto level = logging::level();
    logging::set_level(spdlog::level::off); // the instance's logger: 8000 lines nobody needs to see
    const std::string text = input_error_text([&] { DeviceInstance(plugin, "s", {}, {}, host); });
    logging::set_level(level);
    CHECK(vmm::test::count_of(text, "lightning") == 4 * 2000);
}
