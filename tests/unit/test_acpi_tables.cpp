// The ACPI tables a machine with `acpi = true` gets, read back by a reader
// written here from the ACPI specification (not from boot/acpi_tables.cpp):
// the RSDP found by scanning, every checksum and length, every pointer, and
// the values the machine file decides (acpi-pm's ports and line, the vCPU
// count, the timer width). Then, where Debian's acpica-tools is installed,
// each table is dumped to a file and disassembled by `iasl -d`.
#include "config/machine_loader.hpp"
#include "core/machine_plan.hpp"

#include "run_process.hpp"
#include "support/input_error_text.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

using namespace vmm;
namespace fs = std::filesystem;

namespace {

// Guest-physical memory as far as the tables go: the chunk the plan placed.
class Memory {
public:
    Memory(uint64_t base, std::vector<uint8_t> bytes) : base_(base), bytes_(std::move(bytes)) {}
    bool has(uint64_t gpa, uint64_t size) const
    {
        return gpa >= base_ && gpa - base_ <= bytes_.size() && size <= bytes_.size() - (gpa - base_);
    }
    const uint8_t *at(uint64_t gpa, uint64_t size) const
    {
        REQUIRE(has(gpa, size));
        return bytes_.data() + (gpa - base_);
    }
    uint64_t le(uint64_t gpa, unsigned size) const
    {
        const uint8_t *p = at(gpa, size);
        uint64_t v = 0;
        for (unsigned i = 0; i < size; ++i)
            v |= uint64_t{p[i]} << (8 * i);
        return v;
    }
    std::string text(uint64_t gpa, unsigned size) const { return {reinterpret_cast<const char *>(at(gpa, size)), size}; }
    unsigned sum(uint64_t gpa, uint64_t size) const
    {
        unsigned s = 0;
        const uint8_t *p = at(gpa, size);
        for (uint64_t i = 0; i < size; ++i)
            s += p[i];
        return s & 0xff;
    }
    uint64_t base() const { return base_; }
    uint64_t end() const { return base_ + bytes_.size(); }

private:
    uint64_t base_;
    std::vector<uint8_t> bytes_;
};

// A system description table: header checked, signature and length.
struct Sdt {
    uint64_t address = 0;
    std::string signature;
    uint32_t length = 0;
};

Sdt read_sdt(const Memory &m, uint64_t address)
{
    INFO("table at " << std::hex << address);
    REQUIRE(m.has(address, 36));
    Sdt t{address, m.text(address, 4), static_cast<uint32_t>(m.le(address + 4, 4))};
    REQUIRE(t.length >= 36);
    REQUIRE(m.has(address, t.length));
    CHECK(m.sum(address, t.length) == 0);
    return t;
}

struct Found {
    uint64_t rsdp = 0;
    std::map<std::string, Sdt> tables; // by signature, from the XSDT
    std::vector<uint64_t> rsdt_entries, xsdt_entries;
};

Found walk(const Memory &m)
{
    Found f;
    for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
        if (m.has(a, 8) && m.text(a, 8) == "RSD PTR ") {
            f.rsdp = a;
            break;
        }
    }
    REQUIRE(f.rsdp != 0);
    CHECK(m.sum(f.rsdp, 20) == 0);
    CHECK(m.le(f.rsdp + 15, 1) == 2); // ACPI 2.0+
    CHECK(m.le(f.rsdp + 20, 4) == 36);
    CHECK(m.sum(f.rsdp, 36) == 0);
    const Sdt rsdt = read_sdt(m, m.le(f.rsdp + 16, 4));
    const Sdt xsdt = read_sdt(m, m.le(f.rsdp + 24, 8));
    CHECK(rsdt.signature == "RSDT");
    CHECK(xsdt.signature == "XSDT");
    for (uint64_t e = rsdt.address + 36; e + 4 <= rsdt.address + rsdt.length; e += 4)
        f.rsdt_entries.push_back(m.le(e, 4));
    for (uint64_t e = xsdt.address + 36; e + 8 <= xsdt.address + xsdt.length; e += 8) {
        f.xsdt_entries.push_back(m.le(e, 8));
        const Sdt t = read_sdt(m, f.xsdt_entries.back());
        f.tables[t.signature] = t;
    }
    f.tables["RSDT"] = rsdt;
    f.tables["XSDT"] = xsdt;
    return f;
}

struct Planned {
    MachineSpec spec;
    MachinePlan plan;
};

const std::string kAcpiMachine = R"([machine]
memory = "2M"
vcpus = 3
irqchip = true
acpi = true
[cpu]
entry = 0x1000
[[device]]
name = "pm"
plugin = "acpi-pm"
pio = [{ base = 0xb000, size = 12 }]
irq = 10
settings = { timer_bits = 32 }
)";

std::string plan_error(const std::string &text)
{
    return vmm::test::input_error_text([&] {
        const MachineSpec spec = parse_machine(text, "m.toml", {});
        PluginFinder finder({vmm::test::paths::plugin_dir()});
        plan_machine(spec, finder);
    });
}

} // namespace

TEST_CASE("ACPI tables: found by scanning, every checksum right, values from the machine", "[acpi]")
{
    const MachineSpec spec = parse_machine(kAcpiMachine, "m.toml", {});
    PluginFinder finder({vmm::test::paths::plugin_dir()});
    const MachinePlan plan = plan_machine(spec, finder);
    REQUIRE(plan.acpi.has_value());
    // The block is one of the chunks written into RAM before the vCPUs run.
    bool in_ram = false;
    for (const ImageChunk &chunk : plan.boot.ram_chunks)
        in_ram = in_ram || (chunk.address == plan.acpi->base && chunk.bytes == plan.acpi->bytes);
    CHECK(in_ram);

    const Memory m(plan.acpi->base, plan.acpi->bytes);
    const Found f = walk(m);
    CHECK(f.rsdp % 16 == 0);
    CHECK(f.rsdp >= 0xe0000);
    REQUIRE(f.tables.count("FACP") == 1);
    REQUIRE(f.tables.count("APIC") == 1);
    CHECK(f.rsdt_entries == f.xsdt_entries);

    // FADT: the acpi-pm device's blocks, its line, the 32-bit timer.
    const uint64_t fadt = f.tables.at("FACP").address;
    CHECK(f.tables.at("FACP").length >= 244);
    CHECK(m.le(fadt + 46, 2) == 10);       // SCI_INT
    CHECK(m.le(fadt + 56, 4) == 0xb000);   // PM1a_EVT_BLK
    CHECK(m.le(fadt + 64, 4) == 0xb004);   // PM1a_CNT_BLK
    CHECK(m.le(fadt + 76, 4) == 0xb008);   // PM_TMR_BLK
    CHECK(m.le(fadt + 88, 1) == 4);        // PM1_EVT_LEN
    CHECK(m.le(fadt + 89, 1) == 2);        // PM1_CNT_LEN
    CHECK(m.le(fadt + 91, 1) == 4);        // PM_TMR_LEN
    CHECK((m.le(fadt + 112, 4) & (1u << 8)) != 0); // TMR_VAL_EXT: 32 bits
    CHECK(m.le(fadt + 148, 1) == 1);       // X_PM1a_EVT_BLK: system I/O
    CHECK(m.le(fadt + 152, 8) == 0xb000);
    CHECK(m.le(fadt + 212, 8) == 0xb008);  // X_PM_TMR_BLK
    // FACS: 64 bytes, 64-byte aligned; the DSDT by both pointers.
    const uint64_t facs = m.le(fadt + 36, 4);
    CHECK(m.le(fadt + 132, 8) == facs);
    CHECK(facs % 64 == 0);
    CHECK(m.text(facs, 4) == "FACS");
    CHECK(m.le(facs + 4, 4) == 64);
    const uint64_t dsdt_address = m.le(fadt + 40, 4);
    CHECK(m.le(fadt + 140, 8) == dsdt_address);
    const Sdt dsdt = read_sdt(m, dsdt_address);
    CHECK(dsdt.signature == "DSDT");
    const std::string aml = m.text(dsdt.address + 36, dsdt.length - 36);
    CHECK(aml.find("_S5_") != std::string::npos);
    CHECK(aml.find("_S3_") != std::string::npos);

    // MADT: one enabled local APIC per vCPU, the IOAPIC, QEMU's overrides.
    const Sdt madt = f.tables.at("APIC");
    CHECK(m.le(madt.address + 36, 4) == 0xfee00000);
    std::vector<uint64_t> apic_ids;
    std::optional<uint64_t> ioapic_address, ioapic_gsi_base;
    std::map<uint64_t, std::pair<uint64_t, uint64_t>> overrides; // source -> (gsi, flags)
    for (uint64_t e = madt.address + 44; e < madt.address + madt.length;) {
        const uint64_t type = m.le(e, 1), length = m.le(e + 1, 1);
        REQUIRE(length >= 2);
        REQUIRE(e + length <= madt.address + madt.length);
        if (type == 0 && (m.le(e + 4, 4) & 1))
            apic_ids.push_back(m.le(e + 3, 1));
        if (type == 1) {
            ioapic_address = m.le(e + 4, 4);
            ioapic_gsi_base = m.le(e + 8, 4);
        }
        if (type == 2)
            overrides[m.le(e + 3, 1)] = {m.le(e + 4, 4), m.le(e + 8, 2)};
        e += length;
    }
    CHECK(apic_ids == std::vector<uint64_t>{0, 1, 2});
    CHECK(ioapic_address == 0xfec00000u);
    CHECK(ioapic_gsi_base == 0u);
    CHECK(overrides.size() == 5);
    CHECK(overrides[0] == std::pair<uint64_t, uint64_t>{2, 0});
    for (uint64_t irq : {5, 9, 10, 11})
        CHECK(overrides[irq] == std::pair<uint64_t, uint64_t>{irq, 0xd}); // level, active high

    SECTION("iasl -d disassembles every table")
    {
        if (!fs::exists("/usr/bin/iasl")) {
            WARN("iasl (Debian acpica-tools) is not installed: the disassembly check is skipped");
            return;
        }
        vmm::test::TempDir dir("acpi");
        auto dump = [&](const std::string &name, uint64_t address, uint64_t length) {
            const fs::path file = dir.path / (name + ".dat");
            std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char *>(m.at(address, length)),
                                                         static_cast<std::streamsize>(length));
            const auto result = vmm::test::run_process({"/usr/bin/iasl", "-d", file.string()},
                                                       {.working_directory = dir.path.string()});
            INFO(name << ": " << result.out << result.err);
            CHECK(result.exit_status == 0);
            const std::string dsl = vmm::test::read_file(dir.path / (name + ".dsl"));
            CHECK(!dsl.empty());
            return dsl;
        };
        // (iasl 20200925 refuses a bare RSDP file: "not a valid ACPI table";
        // the reader above checks it.)
        const std::string fadt_dsl = dump("facp", fadt, f.tables.at("FACP").length);
        CHECK(fadt_dsl.find("PM1A Event Block Address : 0000B000") != std::string::npos);
        CHECK(fadt_dsl.find("PM Timer Block Address : 0000B008") != std::string::npos);
        CHECK(fadt_dsl.find("SCI Interrupt : 000A") != std::string::npos);
        const std::string madt_dsl = dump("apic", madt.address, madt.length);
        CHECK(madt_dsl.find("Address : FEC00000") != std::string::npos);
        const std::string dsdt_dsl = dump("dsdt", dsdt.address, dsdt.length);
        CHECK(dsdt_dsl.find("Name (_S5, Package (0x04)") != std::string::npos);
        // VMM_ACPI_DUMP=FILE keeps iasl's disassembly, for a person to read.
        if (const char *keep = std::getenv("VMM_ACPI_DUMP"))
            std::ofstream(keep) << fadt_dsl << madt_dsl << dsdt_dsl;
        const std::string facs_dsl = dump("facs", facs, 64);
        CHECK(facs_dsl.find("Signature : \"FACS\"") != std::string::npos);
        dump("rsdt", f.tables.at("RSDT").address, f.tables.at("RSDT").length);
        dump("xsdt", f.tables.at("XSDT").address, f.tables.at("XSDT").length);
        for (const char *log : {"facp", "apic", "dsdt", "facs", "rsdt", "xsdt"}) {
            const std::string dsl = vmm::test::read_file(dir.path / (std::string(log) + ".dsl"));
            INFO(log);
            CHECK(dsl.find("**** ") == std::string::npos); // iasl's marker of an unknown or bad field
        }
    }
}

TEST_CASE("ACPI tables: a 24-bit timer by default, the plugin's default ports and line", "[acpi]")
{
    const MachineSpec spec = parse_machine("[machine]\nmemory = \"1M\"\nirqchip = true\nacpi = true\n[cpu]\n"
                                           "entry = 0x1000\n[[device]]\nname = \"pm\"\nplugin = \"acpi-pm\"\n",
                                           "m.toml", {});
    PluginFinder finder({vmm::test::paths::plugin_dir()});
    const MachinePlan plan = plan_machine(spec, finder);
    REQUIRE(plan.acpi.has_value());
    const Memory m(plan.acpi->base, plan.acpi->bytes);
    const Found f = walk(m);
    const uint64_t fadt = f.tables.at("FACP").address;
    CHECK(m.le(fadt + 46, 2) == 9);
    CHECK(m.le(fadt + 56, 4) == 0x600);
    CHECK((m.le(fadt + 112, 4) & (1u << 8)) == 0);
}

TEST_CASE("ACPI tables the machine cannot place are bad input", "[acpi]")
{
    const std::string pm = "[[device]]\nname = \"pm\"\nplugin = \"acpi-pm\"\n";
    CHECK(plan_error("[machine]\nmemory = \"512K\"\nirqchip = true\nacpi = true\n[cpu]\nentry = 0x1000\n" + pm) ==
          "m.toml:4:8: [machine]: the ACPI tables (0xe0000-0xe02af, in the BIOS area) do not fit in guest RAM "
          "(0-0x7ffff): acpi = true needs memory of at least 1M");
    CHECK(plan_error("[machine]\nmemory = \"1M\"\nirqchip = true\nacpi = true\n[cpu]\nentry = 0x1000\n") ==
          "m.toml:4:8: [machine]: acpi = true needs a device of plugin 'acpi-pm' (the FADT points at its PM1a and "
          "PM timer registers); add one or set acpi = false");
    CHECK(plan_error("[machine]\nmemory = \"1M\"\nacpi = true\n[cpu]\nentry = 0x1000\n" + pm) ==
          "m.toml:3:8: [machine]: acpi = true needs irqchip = true (the MADT describes the in-kernel local APICs and "
          "IOAPIC)");
    CHECK(plan_error("[machine]\nmemory = \"1M\"\nirqchip = true\nacpi = true\n[cpu]\nentry = 0x1000\n" + pm +
                     
                     "[[device]]\nname = \"pm2\"\nplugin = \"acpi-pm\"\npio = [{ base = 0xb000, size = 12 }]\nirq = 11\n")
              .find("device 'pm2': a second 'acpi-pm' device") != std::string::npos);
}
