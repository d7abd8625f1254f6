/*
 * acpi-sci: takes the SCI, the acpi-pm device's interrupt, as an OS's ACPI
 * driver does. It finds SCI_INT and PM1a_EVT_BLK in the FADT, routes the
 * line through the PIC to its own IDT, enables PWRBTN_EN and TMR_EN in
 * PM1_EN and sleeps. The machine presses the power button (acpi-pm's
 * `power_button_ms`); the PM timer's top bit flips 2.34 s after start. For
 * each SCI the handler reads PM1_STS, clears what it saw by writing those
 * bits back (write 1 to clear, which lowers the line) and acknowledges the
 * PIC. An SCI with no enabled status bit is counted as spurious (this host
 * delivers level-triggered interrupts twice: see the README).
 *
 * It prints "sci: pwrbtn=1 tmr=1 ..." once both arrived, and that PM1_STS
 * reads clear afterwards, then ends through debug-exit with 0.
 * Machine: configs/machines/pc-acpi-sci.toml.
 */
#include <stdint.h>

#include "acpi.h"
#include "console.h"
#include "interrupts.h"
#include "io.h"

#define DEBUG_EXIT_PORT 0xf4
#define TMR_STS (1u << 0)
#define PWRBTN_STS (1u << 8)

static uint16_t pm1_event;
static unsigned sci_line;
static volatile unsigned pwrbtn, tmr, interrupts, spurious;

__attribute__((interrupt)) static void on_sci(struct interrupt_frame *frame)
{
    (void)frame;
    const uint16_t status = inw(pm1_event);
    const uint16_t mine = status & (PWRBTN_STS | TMR_STS);
    interrupts = interrupts + 1;
    if (mine == 0)
        spurious = spurious + 1;
    if (mine & PWRBTN_STS)
        pwrbtn = pwrbtn + 1;
    if (mine & TMR_STS)
        tmr = tmr + 1;
    outw(mine, pm1_event);  /* write 1 to clear: the SCI falls */
    pic_eoi(sci_line);
}

int main(void)
{
    struct acpi_info acpi;
    const char *error = "";
    if (acpi_find(&acpi, &error) != 0 || acpi.sci >= 16) {
        uart_puts(UART_COM1, "sci: FAILED: ");
        uart_puts(UART_COM1, acpi.sci >= 16 ? "SCI beyond the PIC" : error);
        uart_putc(UART_COM1, '\n');
        outb(1, DEBUG_EXIT_PORT);
        return 1;
    }
    pm1_event = acpi.pm1a_event;
    sci_line = acpi.sci;
    interrupts_disable();
    idt_init();
    pic_remap(PIC_VECTOR_BASE);
    idt_set_gate((uint8_t)(PIC_VECTOR_BASE + sci_line), on_sci);
    pic_set_mask((uint16_t)~(1u << sci_line));
    outw(PWRBTN_STS | TMR_STS, pm1_event + 2);  /* PM1_EN */
    while (pwrbtn == 0 || tmr == 0)
        wait_for_interrupt();
    outw(0, pm1_event + 2);
    pic_set_mask(0xffff);
    uart_puts(UART_COM1, "sci: ");
    print_dec("line", sci_line);
    print_dec("pwrbtn", pwrbtn);
    print_dec("tmr", tmr);
    print_dec("interrupts", interrupts);
    print_dec("spurious", spurious);
    print_hex("pm1_sts_after", inw(pm1_event) & (PWRBTN_STS | TMR_STS));
    uart_putc(UART_COM1, '\n');
    outb(0, DEBUG_EXIT_PORT);
    for (;;)
        __asm__ volatile("cli; hlt");
}
