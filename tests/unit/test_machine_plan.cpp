// Checks that need the plugins and the images, still before any VM exists.
#include "config/machine_loader.hpp"
#include "core/machine_plan.hpp"

#include "elf_builder.hpp"
#include "support/input_error_text.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

using namespace vmm;
using vmm::test::input_error_text;
namespace fs = std::filesystem;

namespace {

// A scratch directory holding a machine file and the images it names.
struct Scratch {
    fs::path dir;
    Scratch() : dir(fs::temp_directory_path() / ("vmm-plan-" + std::to_string(::getpid()))) { fs::create_directories(dir); }
    ~Scratch() { fs::remove_all(dir); }
    void file(const std::string &name, std::size_t size) const
    {
        std::ofstream(dir / name, std::ios::binary) << std::string(size, '\xf4');
    }
    // Plans the machine `text`; returns the error text ("" on success).
    std::string plan(const std::string &text) const
    {
        return input_error_text([&] {
            const MachineSpec spec = parse_machine(text, (dir / "m.toml").string(), {});
            PluginFinder finder({vmm::test::paths::fixture_dir(), vmm::test::paths::plugin_dir()});
            plan_machine(spec, finder);
        });
    }
    std::string at(int line, int column) const
    {
        return (dir / "m.toml").string() + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    }
};

const std::string kHead = "[machine]\nmemory = \"64K\"\n[cpu]\nentry = 0x1000\n"; // 4 lines

} // namespace

TEST_CASE("a good machine plans", "[plan]")
{
    Scratch s;
    s.file("g.bin", 16);
    CHECK(s.plan(kHead + "[[image]]\nfile = \"g.bin\"\naddress = 0x1000\n"
                         "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n"
                         "[[device]]\nname = \"exit\"\nplugin = \"debug-exit\"\n") == "");
}

TEST_CASE("a plugin that cannot be found is located at the device", "[plan]")
{
    Scratch s;
    const std::string text = s.plan(kHead + "[[device]]\nname = \"x\"\nplugin = \"serail\"\n");
    CHECK_THAT(text, Catch::StartsWith(s.at(7, 10) + "device 'x': plugin 'serail' not found: no vmm-serail.so in "
                                                      "the plugin path ("));
}

TEST_CASE("a plugin with the wrong ABI is located at the device that wants it", "[plan]")
{
    Scratch s;
    const std::string text = s.plan(kHead + "[[device]]\nname = \"x\"\nplugin = \"wrong-major\"\n");
    CHECK_THAT(text, Catch::StartsWith(s.at(7, 10) + "device 'x': "));
    CHECK_THAT(text, Catch::Contains("plugin ABI 2.0 is incompatible with this vmm's ABI 1."));
}

TEST_CASE("settings are checked against what the plugin declares", "[plan]")
{
    Scratch s;
    const std::string device = "[[device]]\nname = \"p\"\nplugin = \"probe\"\nmmio = [{ base = 0xd0000000, size = 0x40 }]\n";
    CHECK(s.plan(kHead + device + "settings = { nubmer = 3 }\n") ==
          s.at(9, 23) + "device 'p': plugin 'probe' has no setting 'nubmer' (it accepts: number, text, flag, ratio, "
                        "fail_create)");
    CHECK(s.plan(kHead + device + "settings = { number = \"3\" }\n") ==
          s.at(9, 23) + "device 'p': setting 'number' must be an integer, not a string");
    CHECK(s.plan(kHead + device + "settings = { flag = 1 }\n") ==
          s.at(9, 21) + "device 'p': setting 'flag' must be a boolean, not an integer");
    // An integer is a fine float.
    CHECK(s.plan(kHead + device + "settings = { ratio = 2 }\n") == "");
}

TEST_CASE("overlapping devices are refused, naming both", "[plan]")
{
    Scratch s;
    const std::string text = s.plan(kHead + "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n"
                                            "[[device]]\nname = \"com1b\"\nplugin = \"serial\"\n"
                                            "pio = [{ base = 0x3fc, size = 8 }]\n");
    CHECK(text == s.at(11, 8) + "device 'com1b' pio 0x3fc-0x403 overlaps device 'com1' pio 0x3f8-0x3ff (declared at " +
                      s.at(5, 1).substr(0, s.at(5, 1).size() - 2) + ")");
}

TEST_CASE("a plugin's malformed and overlapping default ranges are refused, naming the plugin", "[plan]")
{
    Scratch s;
    const std::string text = s.plan(kHead + "[[device]]\nname = \"bad\"\nplugin = \"bad-defaults\"\n");
    const std::string at = s.at(5, 1);
    CHECK(text == at + "device 'bad': pio range at 0x500 is empty (size 0) (a default range of plugin 'bad-defaults')\n" +
                      at + "device 'bad' pio 0x608-0x617 overlaps device 'bad' pio 0x600-0x60f (declared at " +
                      at.substr(0, at.size() - 2) + ") (a default range of plugin 'bad-defaults')\n" + at +
                      "device 'bad': pio range at 0xfff0 with size 0x20 runs past the end of the pio space (0xffff) "
                      "(a default range of plugin 'bad-defaults')");
}

TEST_CASE("MMIO ranges, ROMs and RAM may not overlap", "[plan]")
{
    Scratch s;
    s.file("rom.bin", 4096);
    CHECK(s.plan(kHead + "[[device]]\nname = \"p\"\nplugin = \"probe\"\nmmio = [{ base = 0x8000, size = 0x40 }]\n") ==
          s.at(8, 9) + "device 'p' mmio 0x8000-0x803f overlaps RAM 0x0-0xffff (at " + s.at(2, 10).substr(0, s.at(2, 10).size() - 2) + ")");
    CHECK(s.plan(kHead + "[[image]]\nfile = \"rom.bin\"\naddress = 0xf000\ntype = \"rom\"\n") ==
          s.at(5, 1) + "ROM image rom.bin at 0xf000-0xffff overlaps RAM 0x0-0xffff (at " + s.at(2, 10).substr(0, s.at(2, 10).size() - 2) + ")");
    CHECK(s.plan(kHead + "[[image]]\nfile = \"rom.bin\"\naddress = 0xfffbd000\ntype = \"rom\"\n") ==
          s.at(5, 1) + "ROM image rom.bin at 0xfffbd000-0xfffbdfff overlaps KVM's reserved TSS/identity-map pages "
                       "0xfffbc000-0xfffbffff");
    CHECK(s.plan(kHead + "[[image]]\nfile = \"rom.bin\"\naddress = 0xfffff000\ntype = \"rom\"\n"
                         "[[device]]\nname = \"p\"\nplugin = \"probe\"\nmmio = [{ base = 0xfffffc00, size = 0x40 }]\n") ==
          s.at(12, 9) + "device 'p' mmio 0xfffffc00-0xfffffc3f overlaps ROM image rom.bin at 0xfffff000-0xffffffff (at " +
              s.at(5, 1).substr(0, s.at(5, 1).size() - 2) + ")");
}

TEST_CASE("images must fit in guest memory", "[plan]")
{
    Scratch s;
    s.file("big.bin", 0x2000);
    s.file("empty.bin", 0);
    CHECK(s.plan(kHead + "[[image]]\nfile = \"big.bin\"\naddress = 0xf000\n") ==
          s.at(5, 1) + "image big.bin (8192 bytes at 0xf000) does not fit in guest RAM (0x10000 bytes at 0)");
    CHECK(s.plan(kHead + "[[image]]\nfile = \"big.bin\"\naddress = 0x100000\n") ==
          s.at(5, 1) + "image big.bin (8192 bytes at 0x100000) does not fit in guest RAM (0x10000 bytes at 0)");
    CHECK(s.plan(kHead + "[[image]]\nfile = \"empty.bin\"\naddress = 0x1000\n") ==
          s.at(6, 8) + (s.dir / "empty.bin").string() + " is empty");
}

TEST_CASE("a machine with no entry point is refused", "[plan]")
{
    Scratch s;
    CHECK(s.plan("[machine]\nmemory = 4096\n") == (s.dir / "m.toml").string() + ":1:1: no entry point: set [cpu] entry or give an [[image]]");
}

// ---- images and the boot layout --------------------------------------------

namespace {

struct BootScratch : Scratch {
    void elf(const std::string &name, const std::vector<uint8_t> &bytes) const
    {
        std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char *>(bytes.data()),
                                                          static_cast<std::streamsize>(bytes.size()));
    }
    MachinePlan plan_ok(const std::string &text) const
    {
        static MachineSpec spec; // the plan points into it
        spec = parse_machine(text, (dir / "m.toml").string(), {});
        PluginFinder finder({vmm::test::paths::fixture_dir(), vmm::test::paths::plugin_dir()});
        return plan_machine(spec, finder);
    }
};

std::vector<uint8_t> multiboot_elf(uint32_t flags, uint64_t load = 0x100000)
{
    std::vector<uint8_t> code(64, 0x90);
    const uint32_t header[3] = {0x1BADB002, flags, static_cast<uint32_t>(0u - 0x1BADB002u - flags)};
    std::memcpy(code.data(), header, sizeof header);
    return vmm::test::make_elf64({{load, code, 0x1000}}, load + 16);
}

} // namespace

TEST_CASE("bad images are located at their entry in the machine file", "[plan][images]")
{
    BootScratch s;
    s.elf("k.elf", vmm::test::make_elf64({{0x100000, {0xf4}, 0x2000}}, 0x100000));
    CHECK(s.plan(kHead + "[[image]]\nfile = \"k.elf\"\n") ==
          s.at(5, 1) + "segment 0 of k.elf (8192 bytes at 0x100000) does not fit in guest RAM (0x10000 bytes at 0)");

    std::vector<uint8_t> bad = vmm::test::make_elf64({{0x1000, {0xf4}}}, 0x1000);
    bad.resize(120); // headers intact, the segment's byte gone
    s.elf("cut.elf", bad);
    CHECK(s.plan(kHead + "[[image]]\nfile = \"cut.elf\"\n") ==
          s.at(6, 8) + "cut.elf: truncated ELF file: segment 0 (0x1 bytes at offset 0x78) runs past its end (120 bytes)");

    s.file("raw.bin", 16);
    CHECK(s.plan(kHead + "[[image]]\nfile = \"raw.bin\"\n") ==
          s.at(5, 1) + "raw.bin is a flat image: give its load `address` (or use an ELF)");

    s.file("a.bin", 0x1000);
    s.file("b.bin", 0x1000);
    CHECK(s.plan(kHead + "[[image]]\nfile = \"a.bin\"\naddress = 0x2000\n[[image]]\nfile = \"b.bin\"\naddress = 0x2800\n") ==
          s.at(8, 1) + "image b.bin (0x2800-0x37ff) overlaps image a.bin (0x2000-0x2fff, at " + s.at(5, 1).substr(0, s.at(5, 1).size() - 2) + ")");
}

TEST_CASE("long mode puts its tables below the stacks, or where the machine file says", "[plan][boot]")
{
    BootScratch s;
    s.elf("k.elf", vmm::test::make_elf64({{0x1000, {0xf4}}}, 0x1000));
    const std::string head = "[machine]\nmemory = \"1M\"\nvcpus = 2\n[cpu]\nmode = \"long\"\n";
    {
        const MachinePlan plan = s.plan_ok(head + "[[image]]\nfile = \"k.elf\"\n");
        // 2 stacks of 16 KiB under 1 MiB, then 7 pages of GDT and tables.
        REQUIRE(plan.boot.system_area);
        CHECK(*plan.boot.system_area == 0x100000 - 2 * 0x4000 - 0x7000);
        CHECK(plan.boot.mapped_gib == 4);
        CHECK(plan.boot.stack_top == 0x100000);
        CHECK(plan.boot.entry == 0x1000);
    }
    {
        const MachinePlan plan = s.plan_ok(head + "page_tables = 0x20000\n[[image]]\nfile = \"k.elf\"\n");
        CHECK(*plan.boot.system_area == 0x20000);
    }
    CHECK(s.plan(head + "page_tables = 0x0\n[[image]]\nfile = \"k.elf\"\n") ==
          s.at(6, 15) + "the GDT and page tables (move them with [cpu] page_tables) (0x0-0x6fff) overlaps segment 0 of "
                        "k.elf (0x1000-0x1000, at " + s.at(7, 1).substr(0, s.at(7, 1).size() - 2) + ")");
    CHECK(s.plan(head + "page_tables = 0xff000\n[[image]]\nfile = \"k.elf\"\n") ==
          s.at(6, 15) + "the GDT and page tables (0xff000-0x105fff) do not fit in guest RAM (0x100000 bytes)");
    CHECK(s.plan("[machine]\nmemory = \"16K\"\n[cpu]\nmode = \"long\"\n[[image]]\nfile = \"k.elf\"\n") ==
          s.at(3, 1) + "no room for the 28 KiB of GDT and page tables below 1 vCPU stack(s) of 0x4000 bytes under "
                       "0x4000; set [cpu] page_tables");
}

TEST_CASE("a multiboot kernel gets protected mode, its modules and its information", "[plan][boot]")
{
    BootScratch s;
    s.elf("mb.elf", multiboot_elf(0x3));
    s.file("initrd.img", 100);
    const MachinePlan plan = s.plan_ok("[machine]\nmemory = \"4M\"\n[[image]]\nfile = \"mb.elf\"\nformat = \"multiboot\"\n"
                                       "cmdline = \"quiet\"\nmodules = [{ file = \"initrd.img\", cmdline = \"rd\" }]\n");
    CHECK(plan.boot.mode == CpuMode::protected32);
    CHECK(plan.boot.entry == 0x100010);
    // The kernel ends at 0x101000: the module on the next page; the info in
    // low memory, where QEMU puts it, not where the kernel's allocator starts.
    REQUIRE(plan.boot.multiboot_info);
    CHECK(*plan.boot.multiboot_info == 0x9000);
    bool module_found = false;
    for (const ImageChunk &chunk : plan.boot.ram_chunks)
        module_found = module_found || (chunk.address == 0x101000 && chunk.bytes.size() == 100);
    CHECK(module_found);

    CHECK(s.plan("[machine]\nmemory = \"4M\"\n[cpu]\nmode = \"long\"\n[[image]]\nfile = \"mb.elf\"\nformat = "
                 "\"multiboot\"\n") ==
          s.at(4, 8) + "[cpu]: a multiboot kernel starts in \"protected\" mode, not \"long\"");

    s.elf("plain.elf", vmm::test::make_elf64({{0x100000, {0xf4}}}, 0x100000));
    CHECK(s.plan("[machine]\nmemory = \"4M\"\n[[image]]\nfile = \"plain.elf\"\nformat = \"multiboot\"\n") ==
          s.at(4, 8) + "plain.elf: no multiboot header (magic 0x1badb002) in the first 8 KiB");

    s.elf("video.elf", multiboot_elf(0x7));
    CHECK(s.plan("[machine]\nmemory = \"4M\"\n[[image]]\nfile = \"video.elf\"\nformat = \"multiboot\"\n") ==
          s.at(4, 8) + "video.elf: the multiboot kernel requires a video mode (header flag 2), which this vmm does not "
                       "provide");

    s.elf("high.elf", multiboot_elf(0x3, 0x3ff000));
    CHECK(s.plan("[machine]\nmemory = \"4M\"\n[[image]]\nfile = \"high.elf\"\nformat = \"multiboot\"\n"
                 "modules = [{ file = \"initrd.img\" }]\n") ==
          s.at(3, 1) + "the multiboot modules (0x400000-0x400fff) do not fit in guest RAM (0x400000 bytes)");

    // A kernel linked over the low place keeps the information after it.
    s.elf("low.elf", multiboot_elf(0x3, 0x9000));
    const MachinePlan low = s.plan_ok("[machine]\nmemory = \"4M\"\n[[image]]\nfile = \"low.elf\"\nformat = \"multiboot\"\n");
    REQUIRE(low.boot.multiboot_info);
    CHECK(*low.boot.multiboot_info == 0xa000);
}

TEST_CASE("a ROM past the host's physical address width is refused at its image, before KVM sees it", "[plan]")
{
    Scratch s;
    s.file("rom.bin", 4096);
    const std::string text = s.plan(kHead + "[[image]]\nfile = \"rom.bin\"\naddress = 0x7ffffffffffff000\ntype = \"rom\"\n");
    CHECK_THAT(text, Catch::StartsWith(s.at(5, 1) + "ROM image rom.bin at 0x7ffffffffffff000-0x7fffffffffffffff lies "
                                                    "beyond this host's "));
    CHECK_THAT(text, Catch::Contains("-bit guest-physical address space (which ends at 0x"));
}

TEST_CASE("a memory check outside RAM and every ROM is refused before the guest runs", "[plan]")
{
    Scratch s;
    s.file("rom.bin", 4096);
    const std::string rom = "[[image]]\nfile = \"rom.bin\"\naddress = 0xfffff000\ntype = \"rom\"\n"; // lines 5-8
    CHECK(s.plan(kHead + rom + "[[check]]\nmemory = 0xfff8\nwidth = 8\nequals = 0\n") == "");
    CHECK(s.plan(kHead + rom + "[[check]]\nmemory = 0xfffffffc\nwidth = 4\nequals = 0\n") == "");
    CHECK(s.plan(kHead + rom + "[[check]]\nmemory = 0xfffc\nwidth = 8\nequals = 0\n") ==
          s.at(9, 1) + "check of 8 bytes at 0xfffc is outside guest RAM (0-0xffff) and every ROM image");
    CHECK(s.plan(kHead + rom + "[[check]]\nmemory = 0x7ffffffffffffffc\nwidth = 8\nequals = 0\n") ==
          s.at(9, 1) + "check of 8 bytes at 0x7ffffffffffffffc is outside guest RAM (0-0xffff) and every ROM image");
}

// ---- interrupt lines and the in-kernel devices -----------------------------

namespace {

// irqchip = true at 3:11; devices start at line 6.
const std::string kChipHead = "[machine]\nmemory = \"64K\"\nirqchip = true\n[cpu]\nentry = 0x1000\n";
// irqchip = true at 3:11, pit = true at 4:7; devices start at line 7.
const std::string kPitHead = "[machine]\nmemory = \"64K\"\nirqchip = true\npit = true\n[cpu]\nentry = 0x1000\n";

std::string device(const std::string &name, const std::string &plugin, const std::string &extra = "")
{
    return "[[device]]\nname = \"" + name + "\"\nplugin = \"" + plugin + "\"\n" + extra;
}

// "file:line:col", to quote inside a message.
std::string loc(const Scratch &s, int line, int column)
{
    const std::string at = s.at(line, column);
    return at.substr(0, at.size() - 2);
}

using Lines = std::vector<std::pair<uint32_t, uint32_t>>; // (line, flags) per device line

std::vector<Lines> planned_lines(const BootScratch &s, const std::string &text)
{
    std::vector<Lines> out;
    for (const PlannedDevice &d : s.plan_ok(text).devices) {
        Lines lines;
        for (const PlannedIrq &irq : d.irqs)
            lines.emplace_back(irq.line, irq.flags);
        out.push_back(lines);
    }
    return out;
}

} // namespace

TEST_CASE("a device's lines come from the machine file, else from its plugin", "[plan][irq]")
{
    BootScratch s;
    const auto lines = planned_lines(s, kChipHead + device("a", "irq-edge") + device("b", "irq-shared", "irq = 11\n") +
                                            device("c", "irq-pair", "irqs = [4, 7]\n") + device("d", "probe") +
                                            device("e", "irq-no-default", "irq = 12\n"));
    REQUIRE(lines.size() == 5);
    CHECK(lines[0] == Lines{{5, VMM_IRQ_EDGE}});
    CHECK(lines[1] == Lines{{11, VMM_IRQ_LEVEL | VMM_IRQ_SHARED}}); // moved, still as the plugin declares it
    CHECK(lines[2] == Lines{{4, VMM_IRQ_EDGE}, {7, VMM_IRQ_LEVEL}});
    CHECK(lines[3].empty());
    CHECK(lines[4] == Lines{{12, VMM_IRQ_EDGE}});
    // irq 0 is free while there is no PIT.
    CHECK(s.plan(kChipHead + device("a", "irq-edge", "irq = 0\n")) == "");
    // A plugin without lines may be given an empty list.
    CHECK(s.plan(kChipHead + device("p", "probe", "irqs = []\n")) == "");
}

TEST_CASE("without an irqchip, default lines are planned unconnected and explicit ones refused", "[plan][irq]")
{
    BootScratch s;
    // Whatever the defaults (none, or the same line twice), nothing is checked:
    // the lines reach nothing.
    const auto lines = planned_lines(s, kHead + device("a", "irq-edge") + device("b", "irq-edge") +
                                            device("n", "irq-no-default"));
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == Lines{{5, VMM_IRQ_EDGE}});
    CHECK(lines[1] == Lines{{5, VMM_IRQ_EDGE}});
    CHECK(lines[2] == Lines{{VMM_IRQ_NO_DEFAULT, VMM_IRQ_EDGE}});

    CHECK(s.plan(kHead + device("com1", "irq-edge", "irq = 4\n")) ==
          s.at(8, 7) + "device 'com1' (plugin 'irq-edge') sets irq = 4, but the machine has no interrupt controller: "
                       "add irqchip = true to [machine]");
    CHECK(s.plan("[machine]\nmemory = \"64K\"\nirqchip = false\n[cpu]\nentry = 0x1000\n" +
                 device("p", "irq-pair", "irqs = [4, 5]\n")) ==
          s.at(9, 8) + "device 'p' (plugin 'irq-pair') sets irqs = [4, 5], but the machine has no interrupt "
                       "controller: add irqchip = true to [machine] (it says irqchip = false at " + loc(s, 3, 11) + ")");
}

TEST_CASE("the machine file gives as many lines as the plugin uses", "[plan][irq]")
{
    Scratch s;
    CHECK(s.plan(kChipHead + device("e", "irq-edge", "irqs = [4, 5]\n")) ==
          s.at(9, 8) + "device 'e': plugin 'irq-edge' uses 1 interrupt line, irqs gives 2");
    CHECK(s.plan(kChipHead + device("p", "irq-pair", "irq = 4\n")) ==
          s.at(9, 7) + "device 'p': plugin 'irq-pair' uses 2 interrupt lines, irq gives 1");
    CHECK(s.plan(kChipHead + device("p", "probe", "irq = 4\n")) ==
          s.at(9, 7) + "device 'p': plugin 'probe' declares no interrupt line, but irq gives 1");
}

TEST_CASE("a line without a default must be given when the machine has an irqchip", "[plan][irq]")
{
    Scratch s;
    CHECK(s.plan(kChipHead + device("n", "irq-no-default")) ==
          s.at(6, 1) + "device 'n' (plugin 'irq-no-default'): the plugin gives its interrupt line 0 no default: "
                       "choose one with irq = N");
}

TEST_CASE("lines are checked against the in-kernel IOAPIC, the PIC cascade and the PIT", "[plan][irq]")
{
    Scratch s;
    CHECK(s.plan(kChipHead + device("e", "irq-edge", "irq = 24\n")) ==
          s.at(9, 7) + "device 'e' (plugin 'irq-edge'): irq 24 is out of range: the in-kernel IOAPIC has lines 0-23");
    CHECK(s.plan(kChipHead + device("e", "irq-edge", "irq = 2\n")) ==
          s.at(9, 7) + "device 'e' (plugin 'irq-edge'): irq 2 is the PIC cascade (the slave PIC's input on the "
                       "master), which no device can use: choose another line");
    CHECK(s.plan(kPitHead + device("e", "irq-edge", "irq = 0\n")) ==
          s.at(10, 7) + "device 'e' (plugin 'irq-edge'): irq 0 is the line of the in-kernel PIT (pit = true at " +
              loc(s, 4, 7) + "): choose another line");
    CHECK(s.plan("[machine]\nmemory = \"64K\"\npit = true\n[cpu]\nentry = 0x1000\n") ==
          s.at(3, 7) + "[machine]: pit = true needs the in-kernel interrupt controller: add irqchip = true");
}

TEST_CASE("two devices share a line only if both declare it level-triggered and shared", "[plan][irq]")
{
    BootScratch s;
    CHECK(s.plan(kChipHead + device("a", "irq-edge") + device("b", "irq-edge")) ==
          s.at(9, 1) + "device 'b' (plugin 'irq-edge'): its default irq 5 is already taken by device 'a' (plugin "
                       "'irq-edge'), declared at " + loc(s, 6, 1) + "; a line is shared only when both sides declare "
                       "it level-triggered and shared (plugin 'irq-edge' declares it edge-triggered, plugin 'irq-edge' "
                       "edge-triggered)");
    CHECK(s.plan(kChipHead + device("a", "irq-shared") + device("b", "irq-edge", "irq = 9\n")) ==
          s.at(12, 7) + "device 'b' (plugin 'irq-edge'): irq 9 is already taken by device 'a' (plugin 'irq-shared'), "
                        "declared at " + loc(s, 6, 1) + "; a line is shared only when both sides declare it "
                        "level-triggered and shared (plugin 'irq-shared' declares it level-triggered and shared, "
                        "plugin 'irq-edge' edge-triggered)");
    CHECK(s.plan(kChipHead + device("p", "irq-pair", "irqs = [4, 4]\n")) ==
          s.at(9, 8) + "device 'p' (plugin 'irq-pair'): irq 4 is already taken by another of its own lines, declared "
                       "at " + loc(s, 9, 8) + "; a line is shared only when both sides declare it level-triggered and "
                       "shared (plugin 'irq-pair' declares it edge-triggered, plugin 'irq-pair' level-triggered, not "
                       "shared)");
    const auto lines = planned_lines(s, kChipHead + device("a", "irq-shared") + device("b", "irq-shared"));
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == lines[1]);
}

TEST_CASE("device ranges may not cover the in-kernel devices' ports and windows", "[plan][irq]")
{
    Scratch s;
    s.file("rom.bin", 4096);
    const std::string pit = " (pit = true at " + loc(s, 4, 7) + ")";
    const std::string chip = " (irqchip = true at " + loc(s, 3, 11) + ")";
    CHECK(s.plan(kPitHead + device("p", "probe", "pio = [{ base = 0x40, size = 0x40 }]\n")) ==
          s.at(10, 8) + "device 'p' pio 0x40-0x7f overlaps the in-kernel PIT pio 0x40-0x43" + pit + "\n" +
              s.at(10, 8) + "device 'p' pio 0x40-0x7f overlaps the in-kernel PIT's speaker port pio 0x61-0x61" + pit);
    CHECK(s.plan(kChipHead + device("p", "probe", "pio = [{ base = 0x21, size = 0x40 }]\n")) ==
          s.at(9, 8) + "device 'p' pio 0x21-0x60 overlaps the in-kernel master PIC pio 0x20-0x21" + chip);
    CHECK(s.plan(kChipHead + device("p", "probe", "pio = [{ base = 0x4d1, size = 1 }]\n")) ==
          s.at(9, 8) + "device 'p' pio 0x4d1-0x4d1 overlaps the in-kernel PICs' ELCR pio 0x4d0-0x4d1" + chip);
    CHECK(s.plan(kChipHead + device("p", "probe", "mmio = [{ base = 0xfec00800, size = 0x40 }]\n")) ==
          s.at(9, 9) + "device 'p' mmio 0xfec00800-0xfec0083f overlaps the in-kernel IOAPIC mmio "
                       "0xfec00000-0xfec00fff" + chip);
    CHECK(s.plan(kChipHead + "[[image]]\nfile = \"rom.bin\"\naddress = 0xfee00000\ntype = \"rom\"\n") ==
          s.at(6, 1) + "ROM image rom.bin at 0xfee00000-0xfee00fff overlaps the in-kernel local APIC mmio "
                       "0xfee00000-0xfee00fff" + chip);
    // Without them, those ranges are anybody's.
    CHECK(s.plan(kHead + device("p", "probe", "pio = [{ base = 0x20, size = 0x40 }]\n"
                                               "mmio = [{ base = 0xfec00000, size = 0x40 }]\n")) == "");
    CHECK(s.plan(kChipHead + device("p", "probe", "pio = [{ base = 0x40, size = 0x40 }]\n")) == "");
}

TEST_CASE("a long-mode entry that is not canonical, or outside RAM and every ROM, is refused", "[plan][boot]")
{
    Scratch s;
    s.file("g.bin", 16);
    const std::string head = "[machine]\nmemory = \"64K\"\n[cpu]\nmode = \"long\"\n";
    const std::string image = "[[image]]\nfile = \"g.bin\"\naddress = 0x1000\n";
    CHECK(s.plan(head + "entry = 0x0000800000001000\n" + image) ==
          s.at(5, 9) + "entry 0x800000001000 is not a canonical address (in long mode bits 63-47 must all equal bit 47)");
    CHECK(s.plan(head + "entry = 0x20000\n" + image) ==
          s.at(5, 9) + "entry 0x20000 is outside guest RAM (0-0xffff) and every ROM image: the vCPU would fault at "
                       "its first instruction");
    CHECK(s.plan(head + "entry = 0x1000\n" + image) == "");
}

// Long mode maps as far as the highest MMIO range: when that makes the page
// tables too large for RAM, the message names the range (it is what to move).
TEST_CASE("page tables with no room because of a high MMIO range name that range", "[plan][boot]")
{
    Scratch s;
    const std::string head = "[machine]\nmemory = \"64K\"\n[cpu]\nmode = \"long\"\nentry = 0x1000\n";
    const std::string device = "[[device]]\nname = \"log\"\nplugin = \"port-logger\"\n";
    CHECK(s.plan(head + device + "mmio = [{ base = 0x4000000000, size = 0x1000 }]\n") ==
          s.at(3, 1) + "no room for the 1040 KiB of GDT and page tables (they map 257 GiB to reach device 'log' mmio "
                       "0x4000000000-0x4000000fff, declared at " + s.at(9, 9).substr(0, s.at(9, 9).size() - 2) +
                       ") below 1 vCPU stack(s) of 0x4000 bytes under 0x10000; set [cpu] page_tables");
    CHECK(s.plan(head + "page_tables = 0x8000\n" + device + "mmio = [{ base = 0x4000000000, size = 0x1000 }]\n") ==
          s.at(6, 15) + "the GDT and page tables (0x8000-0x10bfff) (they map 257 GiB to reach device 'log' mmio "
                        "0x4000000000-0x4000000fff, declared at " + s.at(10, 9).substr(0, s.at(10, 9).size() - 2) +
                        ") do not fit in guest RAM (0x10000 bytes)");
    // Below 4 GiB the tables stay small: nothing to name.
    CHECK(s.plan(head + device + "mmio = [{ base = 0xd0000000, size = 0x1000 }]\n") == "");
}

// In protected and real mode too, an entry outside RAM and every ROM faults
// at the first fetch (no IDT: a triple fault). Real mode starts at CS:IP with
// CS = entry >> 4 & 0xf000, whose linear address is the entry itself.
TEST_CASE("a protected- or real-mode entry outside RAM and every ROM is refused", "[plan][boot]")
{
    Scratch s;
    s.file("g.bin", 16);
    s.file("rom.bin", 4096);
    const std::string image = "[[image]]\nfile = \"g.bin\"\naddress = 0x1000\n";
    for (const std::string mode : {"protected", "real"}) {
        INFO(mode);
        const std::string head = "[machine]\nmemory = \"64K\"\n[cpu]\nmode = \"" + mode + "\"\n";
        CHECK(s.plan(head + "entry = 0x20000\n" + image) ==
              s.at(5, 9) + "entry 0x20000 is outside guest RAM (0-0xffff) and every ROM image: the vCPU would fault "
                           "at its first instruction");
        CHECK(s.plan(head + "entry = 0x1000\n" + image) == "");
        CHECK(s.plan(head + "entry = 0xffff\n" + image) == "");
        // An entry in a ROM is fetchable.
        CHECK(s.plan(head + "entry = 0xf0010\n" + image + "[[image]]\nfile = \"rom.bin\"\naddress = 0xf0000\n"
                            "type = \"rom\"\n") == "");
        // An entry an image gives is located at that image.
        CHECK(s.plan(head + image + "entry = 0x30000\n") ==
              s.at(5, 1) + "entry 0x30000 is outside guest RAM (0-0xffff) and every ROM image: the vCPU would fault "
                           "at its first instruction");
    }
    CHECK(s.plan("[machine]\nmemory = \"64K\"\n[cpu]\nmode = \"protected\"\nentry = 0xfffff000\n[[image]]\n"
                 "file = \"rom.bin\"\naddress = 0xfffff000\ntype = \"rom\"\n") == "");
}
