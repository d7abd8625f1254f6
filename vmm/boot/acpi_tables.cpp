// Builds the ACPI tables byte by byte, as ACPI 6.x chapter 5 lays them out.
// Field offsets are written out (not structs) so that no padding or host
// endianness can slip in; docs/acpi.md lists what each table holds.
#include "boot/acpi_tables.hpp"

#include <cstring>
#include <numeric>
#include <string_view>

namespace vmm::acpi {
namespace {

constexpr std::string_view kOemId = "VMM   ";        // 6 bytes
constexpr std::string_view kOemTableId = "VMMPC   "; // 8 bytes
constexpr std::string_view kCreatorId = "VMM ";      // 4 bytes
constexpr uint32_t kHeaderSize = 36;

// FADT (revision 3, ACPI 2.0+ with the X_ fields): 244 bytes.
constexpr uint32_t kFadtSize = 244;
constexpr uint32_t kFacsSize = 64;
constexpr uint32_t kRsdpSize = 36;

// FADT flags (ACPI 6.4 table 5.10).
constexpr uint32_t kFlagWbinvd = 1u << 0;
constexpr uint32_t kFlagProcC1 = 1u << 2;
constexpr uint32_t kFlagSlpButton = 1u << 5; // no fixed-feature sleep button
constexpr uint32_t kFlagRtcS4 = 1u << 7;
constexpr uint32_t kFlagTmrValExt = 1u << 8;
constexpr uint16_t kBootArchLegacyDevices = 1u << 0;

// MADT flags.
constexpr uint32_t kMadtPcatCompat = 1u << 0;
constexpr uint16_t kIsoActiveHighLevel = 0x1 | (0x3 << 2); // polarity 01 (high), trigger 11 (level)

class Writer {
public:
    explicit Writer(std::vector<uint8_t> &bytes) : bytes_(bytes) {}
    void put8(uint32_t at, uint8_t v) { bytes_.at(at) = v; }
    void put16(uint32_t at, uint16_t v) { put(at, v, 2); }
    void put32(uint32_t at, uint32_t v) { put(at, v, 4); }
    void put64(uint32_t at, uint64_t v) { put(at, v, 8); }
    void text(uint32_t at, std::string_view s)
    {
        (void)bytes_.at(at + s.size() - 1); // bounds
        std::memcpy(&bytes_[at], s.data(), s.size());
    }
    // A Generic Address Structure for system I/O space.
    void io_gas(uint32_t at, uint16_t port, uint8_t bit_width)
    {
        if (port == 0 && bit_width == 0)
            return; // all zero: not present
        put8(at, 1);                 // address space: system I/O
        put8(at + 1, bit_width);
        put8(at + 2, 0);             // bit offset
        put8(at + 3, bit_width == 32 ? 3 : bit_width == 16 ? 2 : 1); // access size: dword, word, byte
        put64(at + 4, port);
    }

private:
    void put(uint32_t at, uint64_t v, unsigned size)
    {
        for (unsigned i = 0; i < size; ++i)
            bytes_.at(at + i) = static_cast<uint8_t>(v >> (8 * i));
    }
    std::vector<uint8_t> &bytes_;
};

uint32_t align(uint32_t value, uint32_t alignment) { return (value + alignment - 1) / alignment * alignment; }

// The system description table header; the checksum is set by finish().
void header(Writer &w, uint32_t at, std::string_view signature, uint32_t length, uint8_t revision)
{
    w.text(at, signature);
    w.put32(at + 4, length);
    w.put8(at + 8, revision);
    w.text(at + 10, kOemId);
    w.text(at + 16, kOemTableId);
    w.put32(at + 24, 1);          // OEM revision
    w.text(at + 28, kCreatorId);
    w.put32(at + 32, 1);          // creator revision
}

void finish(std::vector<uint8_t> &bytes, uint32_t at, uint32_t length)
{
    bytes.at(at + 9) = 0;
    bytes.at(at + 9) = checksum_byte(bytes.data() + at, length);
}

// The DSDT's AML: the sleep states the acpi-pm device implements, as
// packages of {SLP_TYPa, SLP_TYPb, reserved, reserved}:
//   Name (\_S3, Package (4) { 1, 1, 0, 0 })
//   Name (\_S5, Package (4) { 0, 0, 0, 0 })
std::vector<uint8_t> dsdt_aml()
{
    auto sleep_package = [](char state, uint8_t type) {
        const uint8_t value = type == 0 ? 0x00 : type == 1 ? 0x01 : 0x0a; // ZeroOp, OneOp or BytePrefix
        std::vector<uint8_t> out = {0x08, '_', 'S', static_cast<uint8_t>(state), '_', // NameOp, NameSeg
                                    0x12, 0, 0x04};                                   // PackageOp, PkgLength, 4 elements
        for (int i = 0; i < 4; ++i) {
            const uint8_t element = i < 2 ? type : 0;
            if (element > 1)
                out.insert(out.end(), {value, element});
            else
                out.push_back(element == 0 ? 0x00 : 0x01);
        }
        out[6] = static_cast<uint8_t>(out.size() - 6); // PkgLength counts itself and what follows
        return out;
    };
    std::vector<uint8_t> aml = sleep_package('3', kSleepTypeS3);
    const std::vector<uint8_t> s5 = sleep_package('5', kSleepTypeS5);
    aml.insert(aml.end(), s5.begin(), s5.end());
    return aml;
}

} // namespace

uint8_t checksum_byte(const uint8_t *bytes, std::size_t size)
{
    const unsigned sum = std::accumulate(bytes, bytes + size, 0u);
    return static_cast<uint8_t>(0x100 - (sum & 0xff));
}

Tables build_tables(const Input &input)
{
    Tables tables;
    tables.base = input.base;
    Layout &l = tables.layout;
    const std::vector<uint8_t> aml = dsdt_aml();
    const uint32_t rsdt_size = kHeaderSize + 2 * 4;  // FADT, MADT
    const uint32_t xsdt_size = kHeaderSize + 2 * 8;
    const uint32_t madt_size = kHeaderSize + 8 + input.vcpus * 8 + 12 + 5 * 10 + 6;
    const uint32_t dsdt_size = kHeaderSize + static_cast<uint32_t>(aml.size());
    l.rsdp = 0;
    l.facs = 0x40; // FACS must be 64-byte aligned
    l.rsdt = l.facs + kFacsSize;
    l.xsdt = align(l.rsdt + rsdt_size, 16);
    l.fadt = align(l.xsdt + xsdt_size, 16);
    l.madt = align(l.fadt + kFadtSize, 16);
    l.dsdt = align(l.madt + madt_size, 16);
    tables.bytes.assign(align(l.dsdt + dsdt_size, 16), 0);
    std::vector<uint8_t> &b = tables.bytes;
    Writer w(b);
    const auto at = [&](uint32_t offset) { return static_cast<uint32_t>(input.base + offset); };

    // RSDP, ACPI 2.0+ (revision 2): both checksums.
    w.text(l.rsdp, "RSD PTR ");
    w.text(l.rsdp + 9, kOemId);
    w.put8(l.rsdp + 15, 2);
    w.put32(l.rsdp + 16, at(l.rsdt));
    w.put32(l.rsdp + 20, kRsdpSize);
    w.put64(l.rsdp + 24, input.base + l.xsdt);
    w.put8(l.rsdp + 8, checksum_byte(&b[l.rsdp], 20));
    w.put8(l.rsdp + 32, checksum_byte(&b[l.rsdp], kRsdpSize));

    // FACS: no checksum; the waking vector starts at 0 (the guest sets it).
    w.text(l.facs, "FACS");
    w.put32(l.facs + 4, kFacsSize);
    w.put8(l.facs + 32, 1); // version (ACPI 2.0+)

    header(w, l.rsdt, "RSDT", rsdt_size, 1);
    w.put32(l.rsdt + kHeaderSize, at(l.fadt));
    w.put32(l.rsdt + kHeaderSize + 4, at(l.madt));
    finish(b, l.rsdt, rsdt_size);

    header(w, l.xsdt, "XSDT", xsdt_size, 1);
    w.put64(l.xsdt + kHeaderSize, input.base + l.fadt);
    w.put64(l.xsdt + kHeaderSize + 8, input.base + l.madt);
    finish(b, l.xsdt, xsdt_size);

    // FADT revision 3.
    const uint32_t f = l.fadt;
    const uint16_t evt = input.pm_base + kPm1EventOffset, cnt = input.pm_base + kPm1ControlOffset,
                   tmr = input.pm_base + kPmTimerOffset;
    header(w, f, "FACP", kFadtSize, 3);
    w.put32(f + 36, at(l.facs));
    w.put32(f + 40, at(l.dsdt));
    w.put16(f + 46, input.sci_irq);
    // SMI_CMD (48) = 0: no SMI command port; ACPI mode is always on (SCI_EN set at reset).
    w.put32(f + 56, evt);
    w.put32(f + 64, cnt);
    w.put32(f + 76, tmr);
    w.put8(f + 88, kPm1EventLength);
    w.put8(f + 89, kPm1ControlLength);
    w.put8(f + 91, kPmTimerLength);
    w.put16(f + 96, 0xfff);  // P_LVL2_LAT > 100: C2 not supported
    w.put16(f + 98, 0xffff); // P_LVL3_LAT > 1000: C3 not supported
    w.put8(f + 108, 0x32);   // CENTURY: the CMOS byte the rtc plugin fills
    w.put16(f + 109, kBootArchLegacyDevices);
    w.put32(f + 112, kFlagWbinvd | kFlagProcC1 | kFlagSlpButton | kFlagRtcS4 |
                         (input.timer_32bit ? kFlagTmrValExt : 0));
    w.put64(f + 132, input.base + l.facs);
    w.put64(f + 140, input.base + l.dsdt);
    w.io_gas(f + 148, evt, kPm1EventLength * 8);
    w.io_gas(f + 172, cnt, kPm1ControlLength * 8);
    w.io_gas(f + 208, tmr, kPmTimerLength * 8);
    finish(b, f, kFadtSize);

    // MADT, as QEMU's pc builds it (hw/i386/acpi-common.c).
    const uint32_t m = l.madt;
    header(w, m, "APIC", madt_size, 1);
    w.put32(m + 36, kLocalApicAddress);
    w.put32(m + 40, kMadtPcatCompat);
    uint32_t e = m + 44;
    for (uint32_t cpu = 0; cpu < input.vcpus; ++cpu, e += 8) {
        w.put8(e, 0);                       // processor local APIC
        w.put8(e + 1, 8);
        w.put8(e + 2, static_cast<uint8_t>(cpu)); // ACPI processor UID
        w.put8(e + 3, static_cast<uint8_t>(cpu)); // APIC ID
        w.put32(e + 4, 1);                  // enabled
    }
    w.put8(e, 1); // I/O APIC
    w.put8(e + 1, 12);
    w.put8(e + 2, 0); // IOAPIC ID
    w.put32(e + 4, kIoApicAddress);
    w.put32(e + 8, 0); // GSI base
    e += 12;
    struct Override {
        uint8_t source;
        uint32_t gsi;
        uint16_t flags;
    };
    constexpr Override kOverrides[] = {{0, 2, 0},
                                       {5, 5, kIsoActiveHighLevel},
                                       {9, 9, kIsoActiveHighLevel},
                                       {10, 10, kIsoActiveHighLevel},
                                       {11, 11, kIsoActiveHighLevel}};
    for (const Override &o : kOverrides) {
        w.put8(e, 2); // interrupt source override
        w.put8(e + 1, 10);
        w.put8(e + 2, 0); // bus: ISA
        w.put8(e + 3, o.source);
        w.put32(e + 4, o.gsi);
        w.put16(e + 8, o.flags);
        e += 10;
    }
    w.put8(e, 4); // local APIC NMI: every processor, LINT1
    w.put8(e + 1, 6);
    w.put8(e + 2, 0xff);
    w.put16(e + 3, 0);
    w.put8(e + 5, 1);
    finish(b, m, madt_size);

    header(w, l.dsdt, "DSDT", dsdt_size, 2);
    std::memcpy(&b[l.dsdt + kHeaderSize], aml.data(), aml.size());
    finish(b, l.dsdt, dsdt_size);
    return tables;
}

} // namespace vmm::acpi
