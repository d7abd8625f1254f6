/*
 * pm-timer: measures the ACPI PM timer (found through the FADT) against the
 * TSC. It reads both, spins until the PM timer has advanced by WINDOW ticks
 * (0.2 s at 3.579545 MHz), reads both again and prints
 *
 *     pmtimer: ticks=<PM ticks> tsc=<TSC cycles> bits=<24|32>
 *
 * The test divides by the host's TSC rate to get the timer's frequency.
 * The 24-bit counter wraps every 4.7 s: differences are taken modulo its
 * width (acpi_pm_ticks), so a wrap inside the window changes nothing.
 * Machine: configs/machines/pc-acpi-pmtimer.toml.
 */
#include <stdint.h>

#include "acpi.h"
#include "console.h"
#include "interrupts.h"
#include "io.h"

#define DEBUG_EXIT_PORT 0xf4
#define WINDOW 715909u /* 0.2 s of 3579545 Hz */

int main(void)
{
    struct acpi_info acpi;
    const char *error = "";
    if (acpi_find(&acpi, &error) != 0) {
        uart_puts(UART_COM1, "pmtimer: FAILED: ");
        uart_puts(UART_COM1, error);
        uart_putc(UART_COM1, '\n');
        outb(1, DEBUG_EXIT_PORT);
        return 1;
    }
    const uint32_t t0 = inl(acpi.pm_timer);
    const uint64_t c0 = rdtsc();
    uint32_t t1 = t0;
    while (acpi_pm_ticks(&acpi, t0, t1) < WINDOW)
        t1 = inl(acpi.pm_timer);
    const uint64_t c1 = rdtsc();
    uart_puts(UART_COM1, "pmtimer: ");
    print_dec("ticks", acpi_pm_ticks(&acpi, t0, t1));
    print_dec("tsc", c1 - c0);
    print_dec("bits", acpi.timer_32bit ? 32 : 24);
    uart_putc(UART_COM1, '\n');
    outb(0, DEBUG_EXIT_PORT);
    for (;;)
        __asm__ volatile("cli; hlt");
}
