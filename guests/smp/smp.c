/*
 * smp: four vCPUs in long mode sharing memory, without an interrupt
 * controller (machine: vcpus = 4, irqchip = false).
 *
 * Every vCPU starts at _start at the same time, its index in RDI and its
 * own stack. Each one takes the spinlock in guest memory, prints
 * "vcpu N\n" on COM1, increments the shared counter at physical 0x500
 * with a deliberately slow read-pause-write, releases the lock and halts.
 * The lines come out in whatever order the vCPUs win the lock.
 *
 * What it proves: the VMM starts every vCPU at the entry with a distinct
 * index and stack, the vCPUs share one guest memory, and XCHG is atomic
 * across vCPU threads: with the lock the counter ends at exactly 4 (the
 * machine's check), without it the unlocked read-pause-write would lose
 * increments. Each line is printed whole, never interleaved.
 */
#include <stdint.h>

#include "console.h"
#include "format.h"
#include "spinlock.h"

/* Shared state at a fixed address (smp.ld puts .shared at 0x500); the
 * image itself sets both to 0. */
struct shared {
    volatile uint32_t counter;  /* 0x500: the machine file checks it == 4 */
    spinlock_t lock;            /* 0x504 */
};
__attribute__((section(".shared"), used)) struct shared shared = {0, SPINLOCK_INIT};

void smp_main(uint64_t index)
{
    char digits[FMT_BUFFER_SIZE];
    uint32_t seen;

    fmt_dec(digits, index);

    spin_lock(&shared.lock);
    uart_puts(UART_COM1, "vcpu ");
    uart_puts(UART_COM1, digits);
    uart_putc(UART_COM1, '\n');
    /* Not atomic on purpose: only the lock keeps increments from being lost. */
    seen = shared.counter;
    for (int i = 0; i < 1000; ++i)
        cpu_relax();
    shared.counter = seen + 1;
    spin_unlock(&shared.lock);
}
