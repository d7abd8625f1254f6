/*
 * timer: counts PIT ticks and times them with the TSC (machine:
 * configs/machines/timer.toml, irqchip = true, pit = true).
 *
 * The guest remaps the PIC to vectors 0x20-0x2f, programs PIT channel 0 as
 * a rate generator (mode 2) at TIMER_HZ, unmasks IRQ 0 and sleeps in
 * `sti; hlt`. The IRQ 0 handler reads the TSC at the first tick and at the
 * TICKS-th tick after it (TICKS whole periods), then the guest prints
 *
 *     ticks=200 tsc=<TSC cycles for those ticks> hz=100
 *
 * on COM1 and ends the VM through debug-exit with status 0. A test divides
 * the cycles by the host's TSC rate to see whether the ticks came at the
 * programmed rate. 200 ticks at 100 Hz take 2 s: long enough that a few
 * milliseconds of delivery latency at either end change little, short
 * enough for a test.
 *
 * What it proves: KVM's in-kernel PIT ticks at the rate the guest
 * programmed, and its IRQ 0 reaches a guest through the PIC and the boot
 * vCPU's LINT0 (ExtINT) without the guest touching its local APIC.
 */
#include <stdint.h>

#include "console.h"
#include "format.h"
#include "interrupts.h"
#include "io.h"

#define TIMER_HZ 100
#define TICKS 200
#define PIT_INPUT_HZ 1193182u  /* the PIT's input clock, 105/88 MHz */
#define PIT_DIVISOR ((PIT_INPUT_HZ + TIMER_HZ / 2) / TIMER_HZ)  /* 11932: 99.9985 Hz */
_Static_assert(PIT_DIVISOR >= 2 && PIT_DIVISOR <= 65535, "mode 2 needs a 16-bit divisor >= 2");

#define PIT_CHANNEL0 0x40
#define PIT_COMMAND 0x43
#define PIT_CH0_LOHI_MODE2 0x34  /* channel 0, low then high byte, mode 2, binary */
#define TIMER_IRQ 0
#define DEBUG_EXIT_PORT 0xf4

static volatile uint32_t ticks;  /* interrupts taken */
static volatile uint64_t tsc_first, tsc_last;

__attribute__((interrupt)) static void on_tick(struct interrupt_frame *frame)
{
    (void)frame;
    const uint64_t now = rdtsc();
    if (ticks == 0)
        tsc_first = now;
    else if (ticks == TICKS)
        tsc_last = now;
    ticks = ticks + 1;
    pic_eoi(TIMER_IRQ);
}

static void print_field(const char *name, uint64_t value)
{
    char digits[FMT_BUFFER_SIZE];
    fmt_dec(digits, value);
    uart_puts(UART_COM1, name);
    uart_puts(UART_COM1, digits);
}

void main(void)
{
    interrupts_disable();
    idt_init();
    pic_remap(PIC_VECTOR_BASE);
    idt_set_gate(PIC_VECTOR_BASE + TIMER_IRQ, on_tick);
    outb(PIT_CH0_LOHI_MODE2, PIT_COMMAND);
    outb((uint8_t)(PIT_DIVISOR & 0xff), PIT_CHANNEL0);
    outb((uint8_t)(PIT_DIVISOR >> 8), PIT_CHANNEL0);  /* counting starts here */
    pic_set_mask((uint16_t)~(1u << TIMER_IRQ));
    while (ticks <= TICKS)
        wait_for_interrupt();
    pic_set_mask(0xffff);

    print_field("ticks=", TICKS);
    print_field(" tsc=", tsc_last - tsc_first);
    print_field(" hz=", TIMER_HZ);
    uart_putc(UART_COM1, '\n');
    outb(0, DEBUG_EXIT_PORT);
    for (;;)
        __asm__ volatile("cli; hlt");
}
