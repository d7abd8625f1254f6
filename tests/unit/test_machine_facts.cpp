// Machine facts (ABI 1.5): what the core collects from a plan, and what a
// plugin reads through machine_info and machine_blob (here: the fw-cfg and
// rtc plugins, through the real C ABI).
#include "config/machine_loader.hpp"
#include "core/machine_facts_builder.hpp"
#include "kvm/guest_memory.hpp"
#include "plugin/device_instance.hpp"
#include "plugin/plugin_library.hpp"

#include "capture.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

using namespace vmm;

namespace {

struct FactsHost final : HostServices {
    GuestMemory ram;
    MachineFacts facts;
    FactsHost() { ram.add_ram("ram", 0, 0x2000); }
    GuestMemory &memory() override { return ram; }
    void request_stop(int32_t, const std::string &) override {}
    const MachineFacts &machine_facts() override { return facts; }
};

std::shared_ptr<PluginLibrary> bundled(const std::string &name)
{
    return PluginLibrary::load(std::filesystem::path(vmm::test::paths::plugin_dir()) / ("vmm-" + name + ".so"));
}

// Reads `size` bytes of fw_cfg item `key` through the data port.
std::string fw_cfg_item(DeviceInstance &device, uint16_t key, std::size_t size)
{
    const uint8_t selector[2] = {static_cast<uint8_t>(key), static_cast<uint8_t>(key >> 8)};
    device.write(0, 0, selector, 2);
    std::string out(size, '\0');
    for (char &c : out) {
        uint8_t byte = 0;
        device.read(0, 1, &byte, 1);
        c = static_cast<char>(byte);
    }
    return out;
}

uint64_t le(const std::string &bytes)
{
    uint64_t v = 0;
    for (std::size_t i = bytes.size(); i-- > 0;)
        v = v << 8 | static_cast<uint8_t>(bytes[i]);
    return v;
}

} // namespace

TEST_CASE("machine facts: a blob's pieces, gaps and end", "[facts]")
{
    const std::vector<uint8_t> a{1, 2, 3}, b{9};
    MachineBlob blob;
    blob.size = 8;
    blob.pieces = {{0, a}, {5, b}};
    uint8_t out[8];
    REQUIRE(blob.copy(0, out, 8));
    CHECK(std::vector<uint8_t>(out, out + 8) == std::vector<uint8_t>{1, 2, 3, 0, 0, 9, 0, 0});
    REQUIRE(blob.copy(2, out, 4));
    CHECK(std::vector<uint8_t>(out, out + 4) == std::vector<uint8_t>{3, 0, 0, 9});
    CHECK_FALSE(blob.copy(5, out, 4));
    CHECK_FALSE(blob.copy(UINT64_MAX, out, 2));
    CHECK(blob.copy(8, out, 0));
    const MachineBlob text = MachineBlob::text("hi");
    REQUIRE(text.copy(1, out, 1));
    CHECK(out[0] == 'i');
}

TEST_CASE("machine facts: collected from the machine file's RAM, vCPUs, kernel, module and command line", "[facts]")
{
    vmm::test::TempDir dir("facts");
    // A flat "kernel" and a module for a multiboot-less machine: the module
    // key needs a multiboot image, so use the built multiboot guest.
    std::ofstream(dir.path / "initrd.bin", std::ios::binary) << "INITRD";
    const std::string text = "[machine]\nmemory = \"4M\"\nvcpus = 3\nirqchip = true\n"
                             "[[image]]\nfile = \"multiboot.elf\"\nformat = \"multiboot\"\ncmdline = \"a b c\"\n"
                             "modules = [{ file = \"initrd.bin\" }]\n";
    const MachineSpec spec = parse_machine(text, (dir.path / "m.toml").string(), {vmm::test::paths::guest_dir()});
    PluginFinder finder({vmm::test::paths::plugin_dir()});
    const MachinePlan plan = plan_machine(spec, finder);
    const MachineFacts facts = collect_machine_facts(plan);
    CHECK(facts.info.ram_size == 4u << 20);
    CHECK(facts.info.vcpu_count == 3);
    CHECK(facts.info.max_vcpus == 3);
    CHECK(facts.info.flags == VMM_MACHINE_IRQCHIP);
    CHECK(facts.info.kernel_address == 0x100000);
    CHECK(facts.info.kernel_size > 0x1000); // text, then data and bss on the next page
    CHECK(facts.info.initrd_size == 6);
    CHECK(facts.info.initrd_address >= facts.info.kernel_address + facts.info.kernel_size);
    CHECK(facts.info.cmdline_size == 6);
    char cmdline[6];
    REQUIRE(facts.blobs.at("cmdline").copy(0, cmdline, 6));
    CHECK(std::string(cmdline, 6) == std::string("a b c\0", 6));
    char initrd[6];
    REQUIRE(facts.blobs.at("initrd").copy(0, initrd, 6));
    CHECK(std::string(initrd, 6) == "INITRD");
    // The kernel's first bytes are its multiboot header: the magic 0x1BADB002.
    uint8_t magic[4];
    REQUIRE(facts.blobs.at("kernel").copy(0, magic, 4));
    CHECK((magic[0] | magic[1] << 8 | magic[2] << 16 | uint32_t{magic[3]} << 24) == 0x1BADB002u);
    CHECK(facts.blobs.at("machine_file").owned == (dir.path / "m.toml").string());
}

TEST_CASE("machine facts: fw-cfg serves them through the ABI, and a setting's path is relative to the machine file",
          "[facts][fw_cfg]")
{
    vmm::test::TempDir dir("facts-fwcfg");
    std::ofstream(dir.path / "blob.txt") << "from the host";
    FactsHost host;
    host.facts.info.ram_size = 0x123456000;
    host.facts.info.vcpu_count = host.facts.info.max_vcpus = 5;
    static const std::vector<uint8_t> kernel{'K', 'E', 'R'};
    MachineBlob blob;
    blob.size = 10;
    blob.pieces = {{2, kernel}};
    host.facts.info.kernel_size = blob.size;
    host.facts.info.kernel_address = 0x200000;
    host.facts.blobs["kernel"] = blob;
    host.facts.blobs["machine_file"] = MachineBlob::text((dir.path / "m.toml").string());

    DeviceInstance device(bundled("fw-cfg"), "fw_cfg", {{Space::pio, 2}, {Space::pio, 8}},
                          {Setting{"file1_name", std::string("opt/blob"), {}},
                           Setting{"file1_path", std::string("blob.txt"), {}}},
                          host);
    CHECK(fw_cfg_item(device, 0x00, 4) == "QEMU");
    CHECK(le(fw_cfg_item(device, 0x01, 4)) == 3);
    CHECK(le(fw_cfg_item(device, 0x03, 8)) == 0x123456000);
    CHECK(le(fw_cfg_item(device, 0x05, 2)) == 5);
    CHECK(le(fw_cfg_item(device, 0x0f, 2)) == 5);
    CHECK(le(fw_cfg_item(device, 0x07, 4)) == 0x200000);
    CHECK(le(fw_cfg_item(device, 0x08, 4)) == 10);
    CHECK(fw_cfg_item(device, 0x11, 12) == std::string("\0\0KER\0\0\0\0\0\0\0", 12));
    CHECK(le(fw_cfg_item(device, 0x0b, 4)) == 0); // no initrd
    CHECK(fw_cfg_item(device, 0x20, 13) == "from the host");
    CHECK(device.failed_calls() == 0);

    // Without the DMA range the ID says so.
    DeviceInstance no_dma(bundled("fw-cfg"), "fw_cfg2", {{Space::pio, 2}}, {}, host);
    CHECK(le(fw_cfg_item(no_dma, 0x01, 4)) == 1);
}

TEST_CASE("machine facts: the rtc's NVRAM reports the machine's RAM and CPUs unless its setting says otherwise",
          "[facts][rtc]")
{
    FactsHost host;
    host.facts.info.ram_size = 64u << 20;
    host.facts.info.vcpu_count = 4;
    const auto cmos = [](DeviceInstance &rtc, uint8_t index) {
        rtc.write(0, 0, &index, 1);
        uint8_t value = 0;
        rtc.read(0, 1, &value, 1);
        return value;
    };
    DeviceInstance rtc(bundled("rtc"), "rtc", {{Space::pio, 2}}, {}, host);
    CHECK((cmos(rtc, 0x34) | cmos(rtc, 0x35) << 8) == 48 * 16); // 64 KiB units above 16 MiB
    CHECK(cmos(rtc, 0x5f) == 3);
    DeviceInstance set(bundled("rtc"), "rtc2", {{Space::pio, 2}}, {Setting{"memory", int64_t{32} << 20, {}}}, host);
    CHECK((cmos(set, 0x34) | cmos(set, 0x35) << 8) == 16 * 16);
}

TEST_CASE("fw-cfg: a guest failing DMA over and over gets the error bit each time, logged only at first",
          "[fw_cfg][dma]")
{
    FactsHost host; // 8 KiB of RAM
    DeviceInstance device(bundled("fw-cfg"), "f", {{Space::pio, 2}, {Space::pio, 8}}, {}, host);
    // A descriptor at 0x100: select the signature, read 4 bytes to 0x100000 (outside RAM).
    const uint8_t descriptor[16] = {0, 0, 0, 0x0a, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0x10, 0, 0};
    const uint8_t high[4] = {0, 0, 0, 0}, low[4] = {0, 0, 1, 0};
    test::Capture capture(STDERR_FILENO); // every logger writes to stderr
    for (int i = 0; i < 100; ++i) {
        REQUIRE(host.ram.write(0x100, descriptor, sizeof descriptor));
        device.write(1, 0, high, 4);
        device.write(1, 4, low, 4);
        uint8_t control[4];
        REQUIRE(host.ram.read(0x100, control, 4));
        CHECK(control[3] == 1); // the error bit, big-endian
    }
    const std::string log = capture.finish();
    CHECK(test::count_of(log, "[f] warning: DMA read of 4 bytes to 0x100000 is not in guest RAM\n") == 32);
    CHECK(test::count_of(log, "32 DMA errors: later ones are not logged (the guest still sees the error bit)") == 1);
    CHECK(device.failed_calls() == 0);
}
