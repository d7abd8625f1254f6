/*
 * pc-testdev: checks QEMU's test device (plugins/pc-testdev) as
 * kvm-unit-tests use it, through the pc profile (machine:
 * configs/machines/pc-testdev.toml).
 *
 * 1. The latch at 0xe0-0xe3: a 4-byte write reads back whole, and as 2- and
 *    1-byte reads at each offset; 1- and 2-byte writes at an offset replace
 *    only their bytes; the byte window at 0xe8 is the same latch.
 * 2. The scratch MMIO at 0xff000000: 4-, 2- and 1-byte writes read back.
 * 3. The interrupt lines: a write of 1 then 0 to port 0x2000 + n is one
 *    rising edge on ISA line n, so the PIC (edge-triggered, as after reset)
 *    delivers it once. Three times each on IRQ 5 (master) and IRQ 10
 *    (slave), counted by the handlers. Then a write to 0x2004 (COM1's line,
 *    which this device does not have) must change nothing. The waits are
 *    bounded, so a lost interrupt is a failure, not a hang.
 * It prints one line per check and "pc-testdev: all checks passed" (or what
 * failed) on COM1, and writes 0 (all passed) or 1 to debug-exit.
 */
#include <stdint.h>

#include "console.h"
#include "format.h"
#include "interrupts.h"
#include "io.h"
#include "mmio.h"

#define LATCH 0xe0
#define LATCH_BYTES 0xe8
#define FLUSH_PAGE 0xe4
#define IRQ_PORT(n) (0x2000 + (n))
#define IOMEM 0xff000000u
#define MASTER_IRQ 5
#define SLAVE_IRQ 10
#define ROUNDS 3
#define WAIT_POLLS 20000  /* a few tens of ms at CPL 0's emulated speed */
#define DEBUG_EXIT_PORT 0xf4

static volatile uint32_t master_count, slave_count;

__attribute__((interrupt)) static void on_master(struct interrupt_frame *frame)
{
    (void)frame;
    master_count = master_count + 1;
    pic_eoi(MASTER_IRQ);
}

__attribute__((interrupt)) static void on_slave(struct interrupt_frame *frame)
{
    (void)frame;
    slave_count = slave_count + 1;
    pic_eoi(SLAVE_IRQ);
}

static void put(const char *text) { uart_puts(UART_COM1, text); }

static void put_dec(uint64_t value)
{
    char digits[FMT_BUFFER_SIZE];
    fmt_dec(digits, value);
    put(digits);
}

static int check(int ok, const char *what)
{
    put(ok ? "ok: " : "FAILED: ");
    put(what);
    put("\n");
    return ok;
}

/* Interrupts on until `*count` reaches `want` or the polls run out; off
 * again after one more short window, so an extra interrupt is counted. */
static void wait_count(volatile uint32_t *count, uint32_t want)
{
    __asm__ volatile("sti" ::: "memory");
    for (uint32_t i = 0; i < WAIT_POLLS && *count < want; ++i)
        __asm__ volatile("pause" ::: "memory");
    for (uint32_t i = 0; i < 200; ++i)
        __asm__ volatile("pause" ::: "memory");
    interrupts_disable();
}

static int pulse_line(unsigned irq, volatile uint32_t *count)
{
    for (uint32_t round = 1; round <= ROUNDS; ++round) {
        outb(1, IRQ_PORT(irq));
        wait_count(count, round);
        outb(0, IRQ_PORT(irq));
    }
    put("irq ");
    put_dec(irq);
    put(": ");
    put_dec(*count);
    put(" interrupts for ");
    put_dec(ROUNDS);
    put(" raises\n");
    return *count == ROUNDS;
}

void main(void)
{
    int passed = 1;
    interrupts_disable();
    idt_init();
    pic_remap(PIC_VECTOR_BASE);
    idt_set_gate(PIC_VECTOR_BASE + MASTER_IRQ, on_master);
    idt_set_gate(PIC_VECTOR_BASE + SLAVE_IRQ, on_slave);

    /* 1. The latch */
    outl(0x12345678, LATCH);
    passed &= check(inl(LATCH) == 0x12345678, "latch: 4-byte write reads back");
    passed &= check(inw(LATCH) == 0x5678 && inw(LATCH + 2) == 0x1234 && inw(LATCH + 1) == 0x3456,
                    "latch: 2-byte reads at offsets 0, 1, 2");
    passed &= check(inb(LATCH) == 0x78 && inb(LATCH + 1) == 0x56 && inb(LATCH + 2) == 0x34 && inb(LATCH + 3) == 0x12,
                    "latch: 1-byte reads at offsets 0-3");
    outb(0xab, LATCH + 3);
    outw(0xcdef, LATCH + 1);
    passed &= check(inl(LATCH) == 0xabcdef78, "latch: narrow writes replace only their bytes");
    passed &= check(inb(LATCH_BYTES + 2) == 0xcd, "latch: the byte window at 0xe8 is the same latch");
    outl(0x0badf00d, LATCH_BYTES);
    passed &= check(inl(LATCH) == 0x0badf00d, "latch: a 4-byte write at 0xe8 reaches it");
    outl(0x1000, FLUSH_PAGE); /* accepted and ignored (plugins/pc-testdev/README.md) */
    passed &= check(inl(FLUSH_PAGE) == 0, "flush page: reads 0");

    /* 2. The scratch MMIO */
    mmio_write32(IOMEM + 0x100, 0xdeadbeef);
    mmio_write16(IOMEM + 0xfffe, 0x4321);
    mmio_write8(IOMEM + 0x101, 0x5a);
    passed &= check(mmio_read32(IOMEM + 0x100) == 0xdead5aef && mmio_read16(IOMEM + 0x102) == 0xdead &&
                        mmio_read16(IOMEM + 0xfffe) == 0x4321 && mmio_read8(IOMEM) == 0,
                    "iomem: writes of 4, 2 and 1 bytes read back");

    /* 3. The interrupt lines */
    pic_set_mask((uint16_t)~(1u << MASTER_IRQ | 1u << SLAVE_IRQ));
    passed &= check(pulse_line(MASTER_IRQ, &master_count), "irq 5 (master PIC): one interrupt per raise");
    passed &= check(pulse_line(SLAVE_IRQ, &slave_count), "irq 10 (slave PIC): one interrupt per raise");
    outb(1, IRQ_PORT(4));
    outb(0, IRQ_PORT(4));
    wait_count(&master_count, ROUNDS + 1);
    pic_set_mask(0xffff);
    passed &= check(master_count == ROUNDS && slave_count == ROUNDS, "a port without a line changes nothing");

    put(passed ? "pc-testdev: all checks passed\n" : "pc-testdev: some checks failed\n");
    outb(passed ? 0 : 1, DEBUG_EXIT_PORT);
    for (;;)
        __asm__ volatile("cli; hlt");
}
