// The ACPI tables the VMM writes for a machine with `[machine] acpi = true`
// (docs/acpi.md): RSDP, RSDT, XSDT, FADT, FACS, MADT and a minimal DSDT,
// all in one block in the BIOS area, every checksum right. Only bytes here:
// where the block goes, and whether it fits, is the machine plan's business
// (core/acpi_plan.cpp).
#pragma once

#include <cstdint>
#include <vector>

namespace vmm::acpi {

// Where the block starts: the RSDP must lie in 0xe0000-0xfffff on a 16-byte
// boundary for an OS to find it by scanning.
inline constexpr uint64_t kTablesBase = 0xe0000;
inline constexpr uint64_t kBiosAreaEnd = 0x100000;

inline constexpr uint32_t kIoApicAddress = 0xfec00000; // KVM's in-kernel IOAPIC
inline constexpr uint32_t kLocalApicAddress = 0xfee00000;

// The acpi-pm device's register blocks, all inside its one port range
// (plugins/acpi-pm/README.md): PM1a event at +0 (4 ports), PM1a control at
// +4 (2), the PM timer at +8 (4).
inline constexpr uint16_t kPm1EventOffset = 0, kPm1EventLength = 4;
inline constexpr uint16_t kPm1ControlOffset = 4, kPm1ControlLength = 2;
inline constexpr uint16_t kPmTimerOffset = 8, kPmTimerLength = 4;
inline constexpr uint16_t kPmBlockSize = 12;

// SLP_TYP values the DSDT's \_S3 and \_S5 packages give, as QEMU's PIIX4.
inline constexpr uint8_t kSleepTypeS3 = 1;
inline constexpr uint8_t kSleepTypeS5 = 0;

struct Input {
    uint64_t base = kTablesBase;
    uint32_t vcpus = 1;      // one local APIC each, APIC ID = vCPU index
    uint16_t pm_base = 0;    // the acpi-pm device's first port
    uint16_t sci_irq = 9;    // its interrupt line
    bool timer_32bit = false; // FADT TMR_VAL_EXT
};

// Offsets of each table inside the block.
struct Layout {
    uint32_t rsdp = 0, facs = 0, rsdt = 0, xsdt = 0, fadt = 0, madt = 0, dsdt = 0;
};

struct Tables {
    uint64_t base = 0;
    std::vector<uint8_t> bytes;
    Layout layout;
    uint64_t address(uint32_t offset) const { return base + offset; }
};

Tables build_tables(const Input &input);

// The byte that makes `bytes` sum to 0 modulo 256 when stored in place of a zero.
uint8_t checksum_byte(const uint8_t *bytes, std::size_t size);

} // namespace vmm::acpi
