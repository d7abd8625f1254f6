/*
 * pc-rtc: checks the MC146818 RTC and CMOS NVRAM against the datasheet,
 * through the pc profile (machine: configs/machines/pc-rtc.toml; the RTC at
 * ports 0x70/0x71 on IRQ 8, the slave PIC's line 0).
 *
 * 1. NVRAM: prints what firmware reads there, memory above 1 MiB (0x17/0x18,
 *    KiB), above 16 MiB (0x34/0x35, 64 KiB units) and the century (0x32).
 * 2. The update cycle: two consecutive updates of the seconds are one
 *    second apart (the TSC between them is printed, for the test to compare
 *    with the host's TSC rate), and UIP (register A bit 7) is seen set
 *    before an update.
 * 3. The alarm: binary, 24-hour mode (register B), the alarm two seconds
 *    ahead with minutes and hours "don't care" (0xc0), AIE set; the guest
 *    sleeps in `sti; hlt` until IRQ 8, whose handler reads register C: it
 *    must say IRQF|AF, and the time must then be the alarm's second.
 * 4. The periodic interrupt: rate 6 (1024 Hz), PIE; PERIODIC interrupts,
 *    each with IRQF|PF in register C.
 * It prints one line per check and "rtc: all checks passed" (or what
 * failed) on COM1, and writes 0 (all passed) or 1 to debug-exit.
 */
#include <stdint.h>

#include "console.h"
#include "format.h"
#include "interrupts.h"
#include "io.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define RTC_SECONDS 0x00
#define RTC_ALARM_SECONDS 0x01
#define RTC_ALARM_MINUTES 0x03
#define RTC_ALARM_HOURS 0x05
#define RTC_A 0x0a
#define RTC_B 0x0b
#define RTC_C 0x0c
#define A_UIP 0x80
#define A_DIVIDER_ON 0x20       /* 010: the 32.768 kHz time base runs */
#define B_PIE 0x40
#define B_AIE 0x20
#define B_BINARY 0x04
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define ALARM_ANY 0xc0
#define RTC_IRQ 8
#define PERIODIC 64
#define DEBUG_EXIT_PORT 0xf4

static volatile uint32_t interrupts;
static volatile uint8_t last_c;
static volatile uint32_t bad_flags;  /* interrupts whose register C lacked IRQF */

static uint8_t cmos_read(uint8_t index)
{
    outb(index, CMOS_INDEX);
    return inb(CMOS_DATA);
}

static void cmos_write(uint8_t index, uint8_t value)
{
    outb(index, CMOS_INDEX);
    outb(value, CMOS_DATA);
}

__attribute__((interrupt)) static void on_rtc(struct interrupt_frame *frame)
{
    (void)frame;
    const uint8_t c = cmos_read(RTC_C);  /* reading C lowers the line */
    last_c = c;
    if (!(c & C_IRQF))
        bad_flags = bad_flags + 1;
    interrupts = interrupts + 1;
    pic_eoi(RTC_IRQ);
}

static void put(const char *text) { uart_puts(UART_COM1, text); }

static void put_dec(uint64_t value)
{
    char digits[FMT_BUFFER_SIZE];
    fmt_dec(digits, value);
    put(digits);
}

static void put_hex(uint64_t value)
{
    char digits[FMT_BUFFER_SIZE];
    fmt_hex(digits, value, 2);
    put(digits);
}

static int check(int ok, const char *what)
{
    put(ok ? "ok: " : "FAILED: ");
    put(what);
    put("\n");
    return ok;
}

void main(void)
{
    int passed = 1;
    interrupts_disable();
    idt_init();
    pic_remap(PIC_VECTOR_BASE);
    idt_set_gate(PIC_VECTOR_BASE + RTC_IRQ, on_rtc);

    /* 1. NVRAM */
    put("nvram: above_1m_kib=");
    put_dec(cmos_read(0x17) | (uint32_t)cmos_read(0x18) << 8);
    put(" above_16m_64k=");
    put_dec(cmos_read(0x34) | (uint32_t)cmos_read(0x35) << 8);
    put(" century=");
    put_hex(cmos_read(0x32));
    put("\n");

    /* 2. The update cycle, in binary 24-hour mode: consecutive updates a
     * second apart, and UIP seen set before one. UIP lasts 244 µs; a poll
     * is an exit of a few µs, but a busy host can hide a window from a
     * descheduled vCPU: the guest looks over up to eight. */
    cmos_write(RTC_A, A_DIVIDER_ON);
    cmos_write(RTC_B, B_BINARY | B_24H);
    (void)cmos_read(RTC_C);
    const uint8_t first = cmos_read(RTC_SECONDS);
    uint8_t now;
    while ((now = cmos_read(RTC_SECONDS)) == first)
        ;
    const uint64_t edge = rdtsc();
    uint8_t next;
    int uip_seen = 0;
    while ((next = cmos_read(RTC_SECONDS)) == now)
        uip_seen |= (cmos_read(RTC_A) & A_UIP) != 0;
    const uint64_t second = rdtsc() - edge;
    passed &= check(next == (now + 1) % 60 && now < 60, "the seconds advance by one at each update");
    /* With register A selected once, each poll is a single exit. A poll
     * can only miss the 244 µs window if the gap between two polls is
     * longer than that (the host descheduled the vCPU): so UIP never seen
     * is a failure only when every gap was shorter. */
    const uint64_t window = second * 244 / 1000000;
    const uint64_t give_up = rdtsc() + 8 * second;
    uint64_t longest_gap = 0, last_poll = rdtsc();
    outb(RTC_A, CMOS_INDEX);
    while (!uip_seen && last_poll < give_up) {
        uip_seen = (inb(CMOS_DATA) & A_UIP) != 0;
        const uint64_t now_tsc = rdtsc();
        if (now_tsc - last_poll > longest_gap)
            longest_gap = now_tsc - last_poll;
        last_poll = now_tsc;
    }
    if (uip_seen || longest_gap < window)
        passed &= check(uip_seen, "UIP is set before an update");
    else
        put("unverifiable: UIP never seen, but the host paused the polls for longer than its window\n");
    put("update: tsc_per_second=");
    put_dec(second);
    put("\n");

    /* 3. The alarm, at the next update or the one after; IRQ 8 wakes the
     * guest. */
    const uint8_t alarm = (uint8_t)((cmos_read(RTC_SECONDS) + 2) % 60);
    cmos_write(RTC_ALARM_SECONDS, alarm);
    cmos_write(RTC_ALARM_MINUTES, ALARM_ANY);
    cmos_write(RTC_ALARM_HOURS, ALARM_ANY);
    (void)cmos_read(RTC_C);
    cmos_write(RTC_B, B_BINARY | B_24H | B_AIE);
    pic_set_mask((uint16_t)~(1u << RTC_IRQ));
    while (interrupts == 0)
        wait_for_interrupt();
    const uint8_t woke_at = cmos_read(RTC_SECONDS);
    passed &= check((last_c & (C_IRQF | C_AF)) == (C_IRQF | C_AF), "the alarm interrupt sets IRQF and AF in C");
    passed &= check(woke_at == alarm, "the alarm rings at its second");

    /* 4. The periodic interrupt at 1024 Hz. */
    cmos_write(RTC_B, B_BINARY | B_24H);
    (void)cmos_read(RTC_C);
    interrupts = 0;
    bad_flags = 0;
    cmos_write(RTC_A, A_DIVIDER_ON | 6);
    cmos_write(RTC_B, B_BINARY | B_24H | B_PIE);
    while (interrupts < PERIODIC)
        wait_for_interrupt();
    cmos_write(RTC_B, B_BINARY | B_24H);
    pic_set_mask(0xffff);
    passed &= check(bad_flags == 0 && (last_c & (C_IRQF | C_PF)) == (C_IRQF | C_PF),
                    "periodic interrupts set IRQF and PF in C");

    put(passed ? "rtc: all checks passed\n" : "rtc: some checks failed\n");
    outb(passed ? 0 : 1, DEBUG_EXIT_PORT);
    for (;;)
        __asm__ volatile("cli; hlt");
}
