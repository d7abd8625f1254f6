/*
 * acpi.h - finding and checking ACPI tables from a guest, as an OS does:
 * scan the BIOS area 0xe0000-0xfffff on 16-byte boundaries for "RSD PTR ",
 * check its checksums, walk the RSDT and the XSDT, and check every table's
 * checksum on the way. The guest is identity-mapped: physical addresses
 * are pointers.
 */
#ifndef GUEST_ACPI_H
#define GUEST_ACPI_H

#include <stdint.h>

struct acpi_info {
    uint64_t rsdp, rsdt, xsdt;
    uint64_t fadt, facs, madt, dsdt;
    unsigned rsdt_entries, xsdt_entries;
    unsigned lapics;           /* enabled processor local APIC entries in the MADT */
    uint32_t ioapic_address;
    uint16_t pm1a_event, pm1a_control, pm_timer, sci;
    int timer_32bit;           /* FADT TMR_VAL_EXT */
    int s3_type, s5_type;      /* SLP_TYP from the DSDT's \_S3 / \_S5; -1 if absent */
};

/* 0 on success; otherwise a short reason in *error and a negative value. */
int acpi_find(struct acpi_info *info, const char **error);

/* The PM timer's ticks from `from` to `to`, across one wrap of its width. */
uint32_t acpi_pm_ticks(const struct acpi_info *info, uint32_t from, uint32_t to);

/* Prints "name=value" (decimal) or "name=0x..." on COM1. */
void print_dec(const char *name, uint64_t value);
void print_hex(const char *name, uint64_t value);

#endif
