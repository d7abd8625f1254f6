/*
 * acpi-tables: finds the ACPI tables as an OS does (acpi.c), checks every
 * checksum and pointer, and that the MADT has one local APIC per vCPU (the
 * machine file passes the vCPU count in RBX). Prints what it found on COM1
 * and ends through debug-exit: 0 when everything holds, else 1.
 * Machine: configs/machines/pc-acpi.toml.
 */
#include <stdint.h>

#include "acpi.h"
#include "console.h"
#include "io.h"

#define DEBUG_EXIT_PORT 0xf4

int main(uint64_t vcpus)
{
    struct acpi_info acpi;
    const char *error = "";
    int status = 1;
    if (acpi_find(&acpi, &error) != 0) {
        uart_puts(UART_COM1, "acpi: FAILED: ");
        uart_puts(UART_COM1, error);
    } else {
        uart_puts(UART_COM1, "acpi: ");
        print_hex("rsdp", acpi.rsdp);
        print_hex("facs", acpi.facs);
        print_hex("pm1a_evt", acpi.pm1a_event);
        print_hex("pm1a_cnt", acpi.pm1a_control);
        print_hex("pm_tmr", acpi.pm_timer);
        print_dec("sci", acpi.sci);
        print_dec("tables", acpi.xsdt_entries);
        print_dec("lapics", acpi.lapics);
        print_hex("ioapic", acpi.ioapic_address);
        print_dec("s5", (uint64_t)acpi.s5_type);
        if (acpi.lapics != vcpus)
            uart_puts(UART_COM1, "FAILED: MADT local APICs != vCPUs");
        else if (acpi.s5_type < 0 || acpi.s3_type < 0)
            uart_puts(UART_COM1, "FAILED: no \\_S3 or \\_S5 in the DSDT");
        else {
            uart_puts(UART_COM1, "ok");
            status = 0;
        }
    }
    uart_putc(UART_COM1, '\n');
    outb((uint8_t)status, DEBUG_EXIT_PORT);
    for (;;)
        __asm__ volatile("cli; hlt");
}
