/*
 * s3: suspends to RAM the ACPI way and proves it resumed at the waking
 * vector. It finds the tables, puts the address of its real-mode waking
 * code (wake16.S) in the FACS firmware waking vector, leaves a marker in
 * RAM, and writes SLP_TYP from \_S3 with SLP_EN to the PM1a control block.
 * The VMM stops every vCPU until a wake event, then starts the boot vCPU in
 * real mode at the vector, where wake16 checks the marker and WAK_STS.
 *
 * RBX (main's argument) picks the wake event:
 *   0  none armed: the test sends a control-socket `wake`;
 *   1  the RTC alarm, 2 seconds ahead: the RTC raises its line 8 (AIE)
 *      and that wakes the VM (the guest takes no interrupt: it sleeps).
 * Machines: configs/machines/pc-acpi-s3.toml, pc-acpi-s3-rtc.toml.
 */
#include <stdint.h>

#include "acpi.h"
#include "console.h"
#include "io.h"

#define DEBUG_EXIT_PORT 0xf4
#define SLP_EN (1u << 13)
#define RTC_INDEX 0x70
#define RTC_DATA 0x71

extern char wake16[];
volatile uint32_t s3_marker;     /* read by wake16 */
volatile uint16_t s3_pm1_event;  /* PM1a event block port, for wake16 */

static uint8_t cmos_read(uint8_t index)
{
    outb(index, RTC_INDEX);
    return inb(RTC_DATA);
}

static void cmos_write(uint8_t index, uint8_t value)
{
    outb(index, RTC_INDEX);
    outb(value, RTC_DATA);
}

/* Binary, 24-hour, AIE; the alarm at seconds + 2 with any minute and hour. */
static void arm_rtc_alarm(void)
{
    cmos_write(0x0b, 0x26);               /* B: AIE | DM (binary) | 24 h */
    const uint8_t seconds = cmos_read(0x00);
    cmos_write(0x01, (uint8_t)((seconds + 2) % 60));
    cmos_write(0x03, 0xff);               /* any minute */
    cmos_write(0x05, 0xff);               /* any hour */
    (void)cmos_read(0x0c);                /* clear pending flags */
}

static void fail(const char *why)
{
    uart_puts(UART_COM1, "s3: FAILED: ");
    uart_puts(UART_COM1, why);
    uart_putc(UART_COM1, '\n');
    outb(1, DEBUG_EXIT_PORT);
}

int main(uint64_t wake_by)
{
    struct acpi_info acpi;
    const char *error = "";
    if (acpi_find(&acpi, &error) != 0) {
        fail(error);
        return 1;
    }
    if (acpi.s3_type < 0) {
        fail("no \\_S3 in the DSDT");
        return 1;
    }
    const uint32_t vector = (uint32_t)(uintptr_t)wake16;
    *(volatile uint32_t *)(acpi.facs + 12) = vector;  /* firmware waking vector */
    s3_marker = 0x53335f31;
    s3_pm1_event = acpi.pm1a_event;
    if (wake_by == 1)
        arm_rtc_alarm();
    uart_puts(UART_COM1, "s3: ");
    print_hex("vector", vector);
    print_dec("slp_typ", (uint64_t)acpi.s3_type);
    uart_puts(UART_COM1, wake_by == 1 ? "suspending until the RTC alarm\n" : "suspending until woken\n");
    const uint16_t control = inw(acpi.pm1a_control);
    outw((uint16_t)((control & ~(7u << 10)) | ((unsigned)acpi.s3_type << 10) | SLP_EN), acpi.pm1a_control);
    fail("still running after SLP_EN");
    for (;;)
        __asm__ volatile("cli; hlt");
}
