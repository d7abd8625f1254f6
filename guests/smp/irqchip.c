/*
 * smp-irqchip: the BSP starts the APs the way firmware does, through the
 * local APIC (machine: vcpus = 4, irqchip = true, long mode).
 *
 * vCPU 0 (the BSP) enables its local APIC (SVR), then sends INIT, SIPI,
 * SIPI to "all excluding self" through the ICR (MMIO at 0xfee00300; the
 * high dword at 0xfee00310 is written first, then the low dword, whose
 * write sends the IPI). The SIPI vector 0x08 points the APs at the 16-bit
 * trampoline at 0x8000 (irqchip_start.S), where each AP does `lock incl`
 * on the counter at 0x500 and halts. The BSP waits, bounded by the TSC,
 * until the counter reaches 3, prints "all 3 APs up" on COM1 and writes 0
 * to debug-exit (port 0xf4); on timeout it prints how many came up and
 * writes 1.
 *
 * What it proves: the in-kernel irqchip delivers INIT and SIPI between
 * vCPUs, APs start in real mode at the SIPI vector while the BSP runs in
 * long mode, and the VM can only end through a device (HLT never leaves
 * the kernel). The machine file checks counter == 3.
 */
#include <stdint.h>

#include "console.h"
#include "format.h"
#include "io.h"

#define LAPIC_BASE 0xfee00000u
#define LAPIC_SVR 0x0f0              /* spurious-interrupt vector register */
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define SVR_APIC_ENABLE (1u << 8)
#define ICR_INIT (5u << 8)           /* delivery mode */
#define ICR_STARTUP (6u << 8)
#define ICR_SEND_PENDING (1u << 12)  /* delivery status */
#define ICR_ASSERT (1u << 14)
#define ICR_ALL_BUT_SELF (3u << 18)  /* destination shorthand */

#define AP_COUNT 3
#define DEBUG_EXIT_PORT 0xf4
/* About a second or two at the TSC rates of current hosts: far more than
 * KVM needs, short enough to fail quickly. */
#define WAIT_TSC_TICKS 4000000000ull

/* The counter the APs increment, at 0x500 (irqchip.ld); the image sets it
 * to 0. The trampoline refers to it by this name. */
__attribute__((section(".shared"), used)) volatile uint32_t ap_count = 0;
extern const char ap_trampoline[];   /* 0x8000, page-aligned, below 1 MiB */

static inline void lapic_write(uint32_t reg, uint32_t value)
{
    *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = value;
}

static inline uint32_t lapic_read(uint32_t reg)
{
    return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg);
}

static inline uint64_t rdtsc(void)
{
    uint32_t low, high;
    __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
    return ((uint64_t)high << 32) | low;
}

static void delay(uint32_t pauses)
{
    while (pauses-- > 0)
        __asm__ volatile("pause");
}

/* Send one IPI to every other CPU and wait until the APIC accepted it. */
static void send_ipi_all_but_self(uint32_t command)
{
    lapic_write(LAPIC_ICR_HIGH, 0);  /* destination field: unused with a shorthand */
    lapic_write(LAPIC_ICR_LOW, ICR_ALL_BUT_SELF | ICR_ASSERT | command);
    while (lapic_read(LAPIC_ICR_LOW) & ICR_SEND_PENDING)
        __asm__ volatile("pause");
}

void bsp_main(void)
{
    const uint32_t vector = (uint32_t)((uintptr_t)ap_trampoline >> 12);
    char digits[FMT_BUFFER_SIZE];
    uint64_t start;

    lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) | SVR_APIC_ENABLE | 0xff);

    /* The MP protocol: INIT, wait 10 ms, SIPI, wait 200 us, SIPI. KVM needs
     * no delays; short ones are kept to follow the protocol's shape. A
     * second SIPI to an AP that already started is ignored. */
    send_ipi_all_but_self(ICR_INIT);
    delay(10000);
    send_ipi_all_but_self(ICR_STARTUP | vector);
    delay(1000);
    send_ipi_all_but_self(ICR_STARTUP | vector);

    start = rdtsc();
    while (ap_count < AP_COUNT && rdtsc() - start < WAIT_TSC_TICKS)
        __asm__ volatile("pause");

    if (ap_count == AP_COUNT) {
        uart_puts(UART_COM1, "all 3 APs up\n");
        outl(0, DEBUG_EXIT_PORT);
    } else {
        fmt_dec(digits, ap_count);
        uart_puts(UART_COM1, "timeout: ");
        uart_puts(UART_COM1, digits);
        uart_puts(UART_COM1, " of 3 APs up\n");
        outl(1, DEBUG_EXIT_PORT);
    }
}
