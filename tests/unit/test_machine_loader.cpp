// Machine files: every error is `file:line:col: message`, all in one pass.
#include "config/machine_loader.hpp"
#include "config/toml_reader.hpp"
#include "core/machine_plan.hpp"

#include "support/input_error_text.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace vmm;
using vmm::test::input_error_text;

namespace {

std::string errors_of(const std::string &text)
{
    return input_error_text([&] { parse_machine(text, "m.toml", {}); });
}

MachineSpec parse_ok(const std::string &text, const std::vector<std::filesystem::path> &guest_dirs = {})
{
    return parse_machine(text, "m.toml", guest_dirs);
}

// A temporary image file, removed at the end of the test.
struct TempFile {
    std::filesystem::path path;
    TempFile(const std::string &name, std::size_t size)
        : path(std::filesystem::temp_directory_path() / ("vmm-test-" + std::to_string(::getpid()) + "-" + name))
    {
        std::ofstream(path, std::ios::binary) << std::string(size, '\x90');
    }
    ~TempFile() { std::filesystem::remove(path); }
};

} // namespace

TEST_CASE("a complete machine file is read into a spec", "[config]")
{
    TempFile image("hello.bin", 12);
    const MachineSpec spec = parse_ok(R"([machine]
name = "demo"
memory = "64K"
vcpus = 2
strict = true

[cpu]
mode = "real"
entry = 0x1000
registers = { rax = 2, rbx = 3, rflags = 0x202 }

[[image]]
file = ")" + image.path.string() + R"("
address = 0x1000

[[device]]
name = "com1"
plugin = "serial"
pio = [{ base = 0x3f8, size = 8 }]
mmio = [{ base = 0xd0000000, size = 0x1000 }]
settings = { input = "abc", speed = 9600, on = true, ratio = 0.5 }
)");
    CHECK(spec.name == "demo");
    CHECK(spec.memory_size == 64 * 1024);
    CHECK(spec.vcpus == 2);
    CHECK(spec.strict);
    CHECK(spec.cpu.mode == CpuMode::real);
    CHECK(spec.cpu.entry == 0x1000);
    REQUIRE(spec.cpu.registers.size() == 3);
    CHECK(spec.cpu.registers[0].name == "rax");
    CHECK(spec.cpu.registers[2].value == 0x202);
    REQUIRE(spec.images.size() == 1);
    CHECK(spec.images[0].address == 0x1000);
    CHECK(spec.images[0].type == ImageType::ram);
    REQUIRE(spec.devices.size() == 1);
    const DeviceSpec &device = spec.devices[0];
    CHECK(device.name == "com1");
    CHECK(device.plugin == "serial");
    REQUIRE(device.ranges.size() == 2);
    CHECK(device.ranges[0].space == Space::pio);
    CHECK(device.ranges[0].base == 0x3f8);
    CHECK(device.ranges[1].space == Space::mmio);
    CHECK(device.ranges[1].where.str() == "m.toml:20:9");
    REQUIRE(device.settings.size() == 4);
}

TEST_CASE("interrupt lines, irqchip and pit are read with where they were set", "[config][irq]")
{
    const MachineSpec spec = parse_ok(R"([machine]
memory = "64K"
irqchip = true
pit = true

[[device]]
name = "one"
plugin = "serial"
irq = 4

[[device]]
name = "two"
plugin = "serial"
irqs = [5, 9]

[[device]]
name = "defaults"
plugin = "serial"
)");
    CHECK(spec.irqchip);
    CHECK(spec.irqchip_given);
    CHECK(spec.irqchip_where.str() == "m.toml:3:11");
    CHECK(spec.pit);
    CHECK(spec.pit_where.str() == "m.toml:4:7");
    REQUIRE(spec.devices.size() == 3);
    CHECK(spec.devices[0].irqs == std::vector<uint32_t>{4});
    CHECK(spec.devices[0].irqs_key == "irq");
    CHECK(spec.devices[0].irqs_where.str() == "m.toml:9:7");
    CHECK(spec.devices[1].irqs == std::vector<uint32_t>{5, 9});
    CHECK(spec.devices[1].irqs_key == "irqs");
    CHECK(spec.devices[1].irqs_where.str() == "m.toml:14:8");
    CHECK_FALSE(spec.devices[2].irqs.has_value()); // the plugin's defaults

    // Not given: no irqchip, no PIT, and nothing to point at.
    const MachineSpec plain = parse_ok("[machine]\nmemory = 4096\n");
    CHECK_FALSE(plain.irqchip);
    CHECK_FALSE(plain.irqchip_given);
    CHECK_FALSE(plain.irqchip_where.known());
    CHECK_FALSE(plain.pit);
    CHECK_FALSE(plain.pit_where.known());
    // Said, even as false.
    const MachineSpec off = parse_ok("[machine]\nmemory = 4096\nirqchip = false\n");
    CHECK_FALSE(off.irqchip);
    CHECK(off.irqchip_given);
    CHECK(off.irqchip_where.str() == "m.toml:3:11");
    // An empty list is kept: the plan checks it against the plugin's count.
    const MachineSpec none = parse_ok("[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"x\"\nirqs = []\n");
    CHECK(none.devices[0].irqs == std::vector<uint32_t>{});
}

TEST_CASE("sizes take units", "[config]")
{
    CHECK(parse_byte_size("4096") == 4096);
    CHECK(parse_byte_size("4K") == 4096);
    CHECK(parse_byte_size("64KiB") == 65536);
    CHECK(parse_byte_size("1M") == 1u << 20);
    CHECK(parse_byte_size("2mib") == 2u << 20);
    CHECK(parse_byte_size("1G") == 1u << 30);
    CHECK(parse_byte_size("0x2000") == 0x2000);
    CHECK_FALSE(parse_byte_size("12X"));
    CHECK_FALSE(parse_byte_size("K"));
    CHECK_FALSE(parse_byte_size(""));
    CHECK_FALSE(parse_byte_size("99999999999999999999G"));
}

TEST_CASE("machine file errors carry file:line:col", "[config]")
{
    // Each row: the machine file, and the exact message it must produce.
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"[machine]\nmemory = 4096\nvcpus = = 2\n", "m.toml:3:9: Error while parsing value: could not determine value type"},
        {"[cpu]\nmode = \"real\"\n", "m.toml:1:1: missing [machine] table (it gives at least `memory`)"},
        {"[machine]\nvcpus = 1\n", "m.toml:1:1: [machine]: missing required key 'memory' (a size such as 4096 or \"64K\")"},
        {"[machine]\nmemory = 4096\nmemroy = 8192\n", "m.toml:3:1: [machine]: unknown key 'memroy' (known keys: acpi, irqchip, isolate, memory, name, pit, strict, vcpus)"},
        {"[machine]\nmemory = 4096\nvcpus = \"two\"\n", "m.toml:3:9: [machine]: 'vcpus' must be an integer, not a string"},
        {"[machine]\nmemory = 4095\n", "m.toml:2:10: [machine]: memory = 0xfff must be a non-zero multiple of 4 KiB"},
        {"[machine]\nmemory = \"4G\"\n", "m.toml:2:10: [machine]: memory = 0x100000000 is more than the 3 GiB this vmm maps below the 32-bit I/O hole"},
        {"[machine]\nmemory = \"12X\"\n", "m.toml:2:10: [machine]: 'memory' = \"12X\" is not a size (write e.g. 4096, \"64K\", \"1M\" or \"1G\")"},
        {"[machine]\nmemory = -4096\n", "m.toml:2:10: [machine]: 'memory' must not be negative"},
        {"[machine]\nmemory = 4096\nvcpus = 0\n", "m.toml:3:9: [machine]: vcpus = 0 must be between 1 and 64"},
        {"[machine]\nmemory = 4096\nstrict = \"yes\"\n", "m.toml:3:10: [machine]: 'strict' must be a boolean (true or false), not a string"},
        {"[machine]\nmemory = 4096\n[cpu]\nmode = \"virtual86\"\n", "m.toml:4:8: [cpu]: unknown mode \"virtual86\" (expected \"real\", \"protected\", \"long\", \"user\" or \"reset\")"},
        {"[machine]\nmemory = 4096\n[cpu]\nentry = -1\n", "m.toml:4:9: [cpu]: 'entry' must not be negative (got -1)"},
        {"[machine]\nmemory = 4096\n[cpu]\nregisters = { rip = 5 }\n", "m.toml:4:21: [cpu.registers]: set the start address with [cpu] entry, not rip"},
        {"[machine]\nmemory = 4096\n[cpu]\nregisters = { rxx = 5 }\n", "m.toml:4:15: [cpu.registers]: unknown key 'rxx' (known keys: r10, r11, r12, r13, r14, r15, r8, r9, rax, rbp, rbx, rcx, rdi, rdx, rflags, rsi, rsp)"},
        {"[machine]\nmemory = 4096\n[cpu]\nregisters = { rax = \"x\" }\n", "m.toml:4:21: [cpu.registers]: 'rax' must be an integer, not a string"},
        {"[machine]\nmemory = 4096\n[cpu]\nregisters = { rflags = -1 }\n", "m.toml:4:24: [cpu.registers]: rflags = 0xffffffffffffffff sets reserved bits (0xffffffffffc08028)"},
        {"[machine]\nmemory = 4096\n[cpu]\nregisters = { rflags = 0x8 }\n", "m.toml:4:24: [cpu.registers]: rflags = 0x8 sets reserved bits (0x8)"},
        {"[machine]\nmemory = 4096\n[cpu]\nstack_size = \"4G\"\n", "m.toml:4:14: [cpu]: stack_size = 0x100000000 is larger than the largest memory (0xc0000000)"},
        {"[machine]\nmemory = 4096\n[cpu]\nstack_size = 24\n", "m.toml:4:14: [cpu]: stack_size = 0x18 must be a non-zero multiple of 16"},
        {"[machine]\nmemory = 4096\n[cpu]\nmode = \"reset\"\nentry = 0x100\n", "m.toml:5:9: [cpu]: mode \"reset\" starts from the architectural reset state; it takes no entry or registers"},
        {"cpu = 3\n[machine]\nmemory = 4096\n", "m.toml:1:7: machine file: 'cpu' must be a table, not an integer"},
        {"[machine]\nmemory = 4096\n[[image]]\naddress = 0\n", "m.toml:3:1: image[0]: missing required key 'file' (a string)"},
        {"[machine]\nmemory = 4096\n[[image]]\nfile = \"no-such-image.bin\"\naddress = 0\n", "m.toml:4:8: image[0]: image file \"no-such-image.bin\" not found (looked in .)"},
        {"[machine]\nmemory = 4096\n[[image]]\nfile = \"/no/such/image.bin\"\naddress = 0\n", "m.toml:4:8: image[0]: image file \"/no/such/image.bin\" not found (looked in that absolute path)"},
        {"[machine]\nmemory = 4096\n[[image]]\nfile = \"m.toml\"\nformat = \"flat\"\n", "m.toml:3:1: image[0]: missing required key 'address' (an integer)\nm.toml:4:8: image[0]: image file \"m.toml\" not found (looked in .)"},
        {"[machine]\nmemory = 4096\n[[image]]\nfile = \"x\"\naddress = 0x1800\ntype = \"rom\"\n", "m.toml:5:11: image[0]: a ROM image must start on a 4 KiB boundary (address 0x1800)\nm.toml:4:8: image[0]: image file \"x\" not found (looked in .)"},
        {"[machine]\nmemory = 4096\n[[image]]\nfile = \"x\"\naddress = 0\ntype = \"flash\"\n", "m.toml:6:8: image[0]: unknown type \"flash\" (expected \"ram\" or \"rom\")\nm.toml:4:8: image[0]: image file \"x\" not found (looked in .)"},
        {"[machine]\nmemory = 4096\n[[image]]\nfile = \"x\"\naddress = 0\nformat = \"pe\"\n", "m.toml:6:10: image[0]: unknown format \"pe\" (expected \"flat\", \"elf\" or \"multiboot\")\nm.toml:4:8: image[0]: image file \"x\" not found (looked in .)"},
        {"image = 5\n[machine]\nmemory = 4096\n", "m.toml:1:9: machine file: 'image' must be an array, not an integer"},
        {"image = [5]\n[machine]\nmemory = 4096\n", "m.toml:1:10: image[0]: must be a table ([[image]])"},
        {"[machine]\nmemory = 4096\n[[device]]\nplugin = \"serial\"\n", "m.toml:3:1: device[0]: missing required key 'name' (a string)"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"com1\"\n", "m.toml:3:1: device 'com1': missing required key 'plugin' (a string)"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"com 1\"\nplugin = \"serial\"\n", "m.toml:4:8: device[0]: name \"com 1\" must be 1-64 letters, digits, '-' or '_'"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"serial\"\n[[device]]\nname = \"a\"\nplugin = \"serial\"\n", "m.toml:7:8: device[1]: a device named 'a' already exists (at m.toml:3:1)"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"\"\n", "m.toml:5:10: device 'a': plugin must not be empty"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"serial\"\npio = [0x3f8]\n", "m.toml:6:8: device 'a': pio[0]: must be a table such as { base = 0x3f8, size = 8 }"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"serial\"\npio = [{ base = 0x3f8 }]\n", "m.toml:6:8: device 'a': pio[0]: missing required key 'size' (an integer)"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"serial\"\nmmio = [{ base = 0x1000, size = 16, irq = 4 }]\n", "m.toml:6:37: device 'a': mmio[0]: unknown key 'irq' (known keys: base, size)"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"serial\"\npio = { base = 1, size = 1 }\n", "m.toml:6:7: device 'a': 'pio' must be an array, not a table"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"serial\"\nsettings = { list = [1, 2] }\n", "m.toml:6:21: device 'a': setting 'list' is an array; settings are booleans, integers, floats or strings"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"serial\"\nport = 0x3f8\n", "m.toml:6:1: device 'a': unknown key 'port' (known keys: irq, irqs, isolate, log, mmio, name, on_crash, pio, plugin, settings)"},
        // Interrupt lines and in-kernel devices.
        {"[machine]\nmemory = 4096\npit = 1\n", "m.toml:3:7: [machine]: 'pit' must be a boolean (true or false), not an integer"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"serial\"\nirq = 4\nirqs = [4]\n", "m.toml:7:8: device 'a': give either irq (one line) or irqs (a list), not both (irq is at m.toml:6:7)"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"serial\"\nirq = -4\n", "m.toml:6:7: device 'a': 'irq' must not be negative (got -4)"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"serial\"\nirq = \"4\"\n", "m.toml:6:7: device 'a': 'irq' must be an integer (an interrupt line), not a string"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"serial\"\nirq = 4.0\n", "m.toml:6:7: device 'a': 'irq' must be an integer (an interrupt line), not a float"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"serial\"\nirq = 0x100000000\n", "m.toml:6:7: device 'a': 'irq' = 4294967296 is not an interrupt line (the in-kernel IOAPIC has lines 0-23)"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"serial\"\nirqs = 4\n", "m.toml:6:8: device 'a': 'irqs' must be an array of integers such as [4, 5], not an integer"},
        {"[machine]\nmemory = 4096\n[[device]]\nname = \"a\"\nplugin = \"serial\"\nirqs = [4, \"5\", -6]\n", "m.toml:6:12: device 'a': irqs[1] must be an integer (an interrupt line), not a string\nm.toml:6:17: device 'a': irqs[2] must not be negative (got -6)"},
        // CPU modes and several vCPUs.
        {"[machine]\nmemory = 4096\n[cpu]\nmode = \"long\"\npage_tables = 0x1001\n", "m.toml:5:15: [cpu]: page_tables = 0x1001 must be 4 KiB aligned"},
        {"[machine]\nmemory = 4096\n[cpu]\nmode = \"real\"\npage_tables = 0x1000\n", "m.toml:5:15: [cpu]: page_tables are only for \"protected\" and \"long\" mode"},
        {"[machine]\nmemory = 4096\n[cpu]\nstack_size = 0\n", "m.toml:4:14: [cpu]: stack_size = 0x0 must be a non-zero multiple of 16"},
        {"[machine]\nmemory = 4096\n[cpu]\nindex_register = \"rsp\"\n", "m.toml:4:18: [cpu]: index_register \"rsp\" must be a general-purpose register other than rsp (rax, rbx, ..., r15)"},
        {"[machine]\nmemory = 4096\nvcpus = 2\n[cpu]\nregisters = { rdi = 1 }\n", "m.toml:5:21: [cpu.registers]: rdi holds each vCPU's index (index_register); choose another index_register to set it"},
        // CPUID identity.
        {"[machine]\nmemory = 4096\n[cpu.cpuid]\nbrand = \"0123456789012345678901234567890123456789012345678\"\n", "m.toml:4:9: [cpu.cpuid]: brand must be at most 47 printable ASCII characters (it is 49 bytes)"},
        {"[machine]\nmemory = 4096\n[cpu.cpuid]\noverrides = [{ leaf = 1 }]\n", "m.toml:4:14: [cpu.cpuid] overrides[0]: give at least one of eax, ebx, ecx, edx"},
        {"[machine]\nmemory = 4096\n[cpu.cpuid]\noverrides = [{ leaf = 1, ecx = 0x100000000 }]\n", "m.toml:4:32: [cpu.cpuid] overrides[0]: ecx = 0x100000000 does not fit in 32 bits"},
        {"[machine]\nmemory = 4096\n[cpu.cpuid]\noverrides = [{ eax = 1 }]\n", "m.toml:4:14: [cpu.cpuid] overrides[0]: missing required key 'leaf' (an integer)"},
        {"[machine]\nmemory = 4096\n[cpu.cpuid]\nvendor = \"x\"\n", "m.toml:4:1: [cpu.cpuid]: unknown key 'vendor' (known keys: brand, overrides)"},
        // Image formats.
        {"[machine]\nmemory = 4096\n[[image]]\nfile = \"x\"\nformat = \"elf\"\naddress = 0x1000\n", "m.toml:6:11: image[0]: address is only for flat images (an ELF gives its own addresses)\nm.toml:4:8: image[0]: image file \"x\" not found (looked in .)"},
        {"[machine]\nmemory = 4096\n[[image]]\nfile = \"x\"\nformat = \"elf\"\ntype = \"rom\"\n", "m.toml:6:8: image[0]: only flat images can be ROMs\nm.toml:4:8: image[0]: image file \"x\" not found (looked in .)"},
        {"[machine]\nmemory = 4096\n[[image]]\nfile = \"x\"\ncmdline = \"quiet\"\n", "m.toml:4:8: image[0]: image file \"x\" not found (looked in .)\nm.toml:5:11: image[0]: cmdline is only for format = \"multiboot\""},
        {"[machine]\nmemory = 4096\n[[image]]\nfile = \"x\"\nformat = \"multiboot\"\nmodules = [\"initrd\"]\n", "m.toml:4:8: image[0]: image file \"x\" not found (looked in .)\nm.toml:6:12: image[0]: modules[0]: must be a table such as { file = \"initrd\" }"},
        // Checks.
        {"[machine]\nmemory = 4096\n[[check]]\nequals = 1\n", "m.toml:3:1: check[0]: give either `register` or `memory`"},
        {"[machine]\nmemory = 4096\n[[check]]\nregister = \"rax\"\nmemory = 0x400\nequals = 1\n", "m.toml:3:1: check[0]: give either `register` or `memory`"},
        {"[machine]\nmemory = 4096\n[[check]]\nregister = \"eax\"\nequals = 1\n", "m.toml:4:12: check[0]: unknown register \"eax\" (rax..r15, rsp, rbp, rip, rflags)"},
        {"[machine]\nmemory = 4096\n[[check]]\nregister = \"rax\"\nvcpu = 1\nequals = 1\n", "m.toml:5:8: check[0]: vcpu 1 does not exist (the machine has 1)"},
        {"[machine]\nmemory = 4096\n[[check]]\nregister = \"rax\"\n", "m.toml:3:1: check[0]: missing required key 'equals' (an integer)"},
        {"[machine]\nmemory = 4096\n[[check]]\nmemory = 0x400\nequals = 1\n", "m.toml:3:1: check[0]: missing required key 'width' (an integer)"},
        {"[machine]\nmemory = 4096\n[[check]]\nmemory = 0x400\nwidth = 3\nequals = 1\n", "m.toml:5:9: check[0]: width = 3 must be 1, 2, 4 or 8 (bytes)"},
        {"[machine]\nmemory = 4096\n[[check]]\nmemory = 0x400\nwidth = 1\nequals = 256\n", "m.toml:6:10: check[0]: 256 does not fit in 1 byte(s)"},
        {"[machine]\nmemory = 4096\n[[check]]\nmemory = 0x400\nwidth = 1\nequals = 1\nvcpu = 0\n", "m.toml:7:1: check[0]: unknown key 'vcpu' (known keys: equals, memory, width)"},
        {"[machine]\nmemory = 4096\n[devices]\n", "m.toml:3:2: machine file: unknown key 'devices' (known keys: check, cpu, debug, device, image, machine)"},
    };
    for (const auto &[text, expected] : cases) {
        INFO("machine file:\n" << text);
        CHECK(errors_of(text) == expected);
    }
}

TEST_CASE("all errors of a machine file are reported together", "[config]")
{
    const std::string text = errors_of("[machine]\nmemory = 4095\nvcpus = 100\ncolour = \"blue\"\n");
    CHECK(text == "m.toml:2:10: [machine]: memory = 0xfff must be a non-zero multiple of 4 KiB\n"
                  "m.toml:3:9: [machine]: vcpus = 100 must be between 1 and 64\n"
                  "m.toml:4:1: [machine]: unknown key 'colour' (known keys: acpi, irqchip, isolate, memory, name, pit, strict, vcpus)");
}

TEST_CASE("image files are found next to the machine file, then on the guest path", "[config]")
{
    TempFile image("found.bin", 4);
    const auto dir = image.path.parent_path();
    const std::string name = image.path.filename().string();
    const std::string text = "[machine]\nmemory = 4096\n[[image]]\nfile = \"" + name + "\"\naddress = 0\n";

    const MachineSpec spec = parse_ok(text, {dir});
    REQUIRE(spec.images.size() == 1);
    CHECK(spec.images[0].file == dir / name);
    CHECK(spec.images[0].file_as_written == name);

    // The machine file's own directory comes first.
    const std::string beside = input_error_text([&] { parse_machine(text, (dir / "m.toml").string(), {}); });
    CHECK(beside.empty());
}

TEST_CASE("a missing machine file is an input error", "[config]")
{
    const std::string text = input_error_text([] { load_machine_file("/no/such/machine.toml", {}); });
    CHECK(text == "cannot read machine file /no/such/machine.toml: No such file or directory");
}

// Every bundled machine, not a sample: the README points at them, and a
// machine file that no longer loads or plans would only be found by a user.
TEST_CASE("every bundled machine loads and plans", "[config][plan]")
{
    const auto dir = std::filesystem::path(vmm::test::paths::configs_dir()) / "machines";
    int machines = 0;
    for (const auto &entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".toml")
            continue;
        INFO(entry.path().filename().string());
        ++machines;
        CHECK(input_error_text([&] {
                  const MachineSpec spec = load_machine_file(entry.path(), {vmm::test::paths::guest_dir()});
                  PluginFinder plugins({vmm::test::paths::plugin_dir()});
                  plan_machine(spec, plugins);
              }).empty());
    }
    CHECK(machines >= 18); // hello, counter (the README's swap example), simvirtio, ...
}

// TOML++ 3.3.0 garbles a quoted key in its "cannot redefine" message
// ('"mememory" '): say which key is defined twice, where, and where first.
TEST_CASE("a key or table defined twice is named, with where it was defined first", "[config]")
{
    const std::string head = "[machine]\nmemory = 4096\n";
    CHECK(errors_of(head + "\"memory\" = 8192\n") == "m.toml:3:1: key 'memory' is defined twice (first at m.toml:2:1)");
    CHECK(errors_of(head + "'memory' = 1\n") == "m.toml:3:1: key 'memory' is defined twice (first at m.toml:2:1)");
    CHECK(errors_of(head + "memory = 1\n") == "m.toml:3:1: key 'memory' is defined twice (first at m.toml:2:1)");
    CHECK(errors_of("[machine]\nname = \"x\"\n\"name\".a = 1\n") ==
          "m.toml:3:1: key 'name.a' redefines 'name', already defined at m.toml:2:1");
    CHECK(errors_of(head + "[\"machine\"]\n") == "m.toml:3:2: table 'machine' is defined twice (first at m.toml:1:2)");
    CHECK(errors_of(head + "[[image]]\nfile = \"a\"\n  \"file\" = \"b\"\n") ==
          "m.toml:5:3: key 'file' is defined twice (first at m.toml:4:1)");
    CHECK(errors_of(head + "[cpu]\nregisters = { rax = 1, \"rax\" = 2 }\n") ==
          "m.toml:4:24: key 'rax' is defined twice");
    CHECK(errors_of(head + "\"a.b\" = 1\n\"a.b\" = 2\n") ==
          "m.toml:4:1: key '\"a.b\"' is defined twice (first at m.toml:3:1)");
}

// Some editors start UTF-8 files with a byte-order mark: it is accepted, and
// columns on the first line count from the first character after it.
TEST_CASE("a UTF-8 byte-order mark at the start is accepted, columns unchanged", "[config]")
{
    const std::string bom = "\xEF\xBB\xBF";
    CHECK(parse_ok(bom + "[machine]\nmemory = 4096\n").memory_size == 4096);
    CHECK(errors_of(bom + "[machine]\nmemory = 4096\nvcpus = 0\n") ==
          "m.toml:3:9: [machine]: vcpus = 0 must be between 1 and 64");
    CHECK(errors_of(bom + "[machine]\nmemory = 4096\n[cpu]\nmode = \"x\"\n[oops]\n") ==
          "m.toml:4:8: [cpu]: unknown mode \"x\" (expected \"real\", \"protected\", \"long\", \"user\" or \"reset\")\n"
          "m.toml:5:2: machine file: unknown key 'oops' (known keys: check, cpu, debug, device, image, machine)");
    CHECK(errors_of(bom + "[machine]\nmemory = 4096\n[cpu]\nentry = \"x\"\n") ==
          "m.toml:4:9: [cpu]: 'entry' must be an integer, not a string");
    CHECK(errors_of(bom + "oops = 1\n[machine]\nmemory = 4096\n") ==
          "m.toml:1:1: machine file: unknown key 'oops' (known keys: check, cpu, debug, device, image, machine)");
    CHECK(errors_of(bom + "[machine\n") == "m.toml:1:9: Error while parsing table header: expected ']', saw '\\n'");
    // Anywhere else U+FEFF is still refused outside strings.
    CHECK_THAT(errors_of("[machine]\n" + bom + "memory = 4096\n"), Catch::StartsWith("m.toml:2:1: character U+FEFF"));
}
