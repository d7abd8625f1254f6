/*
 * s5: powers the machine off the ACPI way: SLP_TYP from the DSDT's \_S5
 * package and SLP_EN written to the FADT's PM1a control block. The VMM
 * then ends with status 0. If the write returns, the guest says so and
 * ends through debug-exit with 3, which the test would see.
 * Machine: configs/machines/pc-acpi-s5.toml.
 */
#include <stdint.h>

#include "acpi.h"
#include "console.h"
#include "io.h"

#define DEBUG_EXIT_PORT 0xf4
#define SLP_EN (1u << 13)

int main(void)
{
    struct acpi_info acpi;
    const char *error = "";
    if (acpi_find(&acpi, &error) != 0 || acpi.s5_type < 0) {
        uart_puts(UART_COM1, "s5: FAILED: ");
        uart_puts(UART_COM1, acpi.s5_type < 0 ? "no \\_S5" : error);
        uart_putc(UART_COM1, '\n');
        outb(1, DEBUG_EXIT_PORT);
        return 1;
    }
    uart_puts(UART_COM1, "s5: ");
    print_dec("slp_typ", (uint64_t)acpi.s5_type);
    uart_puts(UART_COM1, "powering off\n");
    const uint16_t control = inw(acpi.pm1a_control);
    outw((uint16_t)((control & ~(7u << 10)) | ((unsigned)acpi.s5_type << 10) | SLP_EN), acpi.pm1a_control);
    uart_puts(UART_COM1, "s5: still running after SLP_EN\n");
    outb(3, DEBUG_EXIT_PORT);
    for (;;)
        __asm__ volatile("cli; hlt");
}
