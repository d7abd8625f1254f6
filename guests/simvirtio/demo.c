/*
 * simvirtio-demo: the SO2 assignment's SIMVIRTIO flow, end to end.
 *
 *   1. find the device (magic), configure and enable TX and RX;
 *   2. handshake: 'R' -> DEVICE_RESET, DRIVER_ACK, 'C' -> DEVICE_CONFIG,
 *      DRIVER_OK -> DEVICE_READY;
 *   3. check that the device wrote its address into the device table;
 *   4. send "Ana are mere!\n" on TX (the VMM prints it);
 *   5. read the device's greeting from RX, up to its '\n', and echo it back
 *      on TX; its machines configure one, so a greeting that does not come
 *      (RX stays empty for ~1 s) or stops before its '\n' is a failure;
 *   6. flush TX, check that the device is still READY, write 42 at 0x400 and
 *      return 42 (left in RAX by _start).
 *
 * The same binary runs in every notify mode (machines simvirtio.toml,
 * simvirtio-poll.toml, simvirtio-doorbell.toml): the driver reads the mode
 * from the config space. In doorbell mode it also sleeps in `sti; hlt`
 * until the device's RX interrupt (IRQ 5 through the in-kernel PIC) says
 * RX has bytes, instead of spinning; since HLT then waits rather than
 * ending the vCPU, it ends through debug-exit (status 0 on success).
 * Protocol 1.1: it finds the device at the default base, gives the device
 * its table if the machine file sets none (DEVICE_TABLE), and checks that
 * the greeting ends where RX_MSG_END says.
 * On a failure it says which step failed on the debug console (port 0xE9)
 * and returns the step's number instead of 42, so the checks fail.
 */
#include <stdint.h>

#include "console.h"
#include "format.h"
#include "interrupts.h"
#include "io.h"
#include "layout.h"
#include "simvirtio.h"

#define QUEUE_BYTES 4096
/* How long to wait for the next greeting byte: ~1 s at 2 GHz. */
#define GREETING_WAIT_CYCLES (1ull << 31)

static simvirtio_t dev;
static volatile uint32_t rx_interrupts;
static int sleeping; /* doorbell mode: wait for RX in HLT */

__attribute__((interrupt)) static void on_rx_interrupt(struct interrupt_frame *frame)
{
    (void)frame;
    ++rx_interrupts;
    pic_eoi(SIMVIRTIO_GUEST_RX_IRQ);
}

/* One greeting byte: spin (exit and poll modes), or sleep until the RX
 * interrupt (doorbell mode). Interrupts are off while RX is checked, so
 * one that comes in between stays pending and wakes the HLT. */
static int next_byte(q_elem_t *c)
{
    if (!sleeping)
        return simvirtio_read_byte_wait(&dev, c, GREETING_WAIT_CYCLES);
    const uint64_t start = rdtsc();
    while (circ_bbuf_pop(&dev.rx, c) != 0) {
        if (rdtsc() - start > GREETING_WAIT_CYCLES)
            return -1;
        wait_for_interrupt();
    }
    return 0;
}

static int finish(int status)
{
    if (sleeping) /* HLT would wait for ever: debug-exit ends the VM */
        outl((uint32_t)(status == 42 ? 0 : status), SIMVIRTIO_GUEST_DEBUG_EXIT_PORT);
    return status;
}
static q_elem_t tx_buffer[QUEUE_BYTES];
static q_elem_t rx_buffer[QUEUE_BYTES];

static int fail(int step, const char *what)
{
    char number[FMT_BUFFER_SIZE];
    debugcon_puts("simvirtio-demo: step ");
    fmt_dec(number, (uint64_t)step);
    debugcon_puts(number);
    debugcon_puts(" failed: ");
    debugcon_puts(what);
    debugcon_puts(" (device status ");
    fmt_hex(number, simvirtio_device_status(&dev), 2);
    debugcon_puts(number);
    debugcon_puts(", error ");
    fmt_dec(number, simvirtio_error(&dev));
    debugcon_puts(number);
    debugcon_puts(")\n");
    return finish(step);
}

int main(void)
{
    static const char message[] = "Ana are mere!\n";

    if (simvirtio_init(&dev, SIMVIRTIO_DEFAULT_BASE, tx_buffer, QUEUE_BYTES, rx_buffer, QUEUE_BYTES) != 0)
        return fail(1, "no device, or it refused a queue");
    if (simvirtio_read8(&dev, SIMVIRTIO_REG_VERSION) != SIMVIRTIO_VERSION)
        return fail(1, "not protocol 1.1");
    if (simvirtio_use_device_table(&dev, &simvirtio_device_table) != 0)
        return fail(1, "the machine gives another device table");
    if (dev.notify_mode == SIMVIRTIO_NOTIFY_DOORBELL) {
        sleeping = 1;
        idt_init();
        pic_remap(PIC_VECTOR_BASE);
        idt_set_gate(PIC_VECTOR_BASE + SIMVIRTIO_GUEST_RX_IRQ, on_rx_interrupt);
        pic_set_mask((uint16_t) ~(1u << SIMVIRTIO_GUEST_RX_IRQ));
    }
    if (simvirtio_handshake(&dev) != 0)
        return fail(2, "handshake");
    const volatile device_table_t *table = (const volatile device_table_t *)(uintptr_t)simvirtio_table_address(&dev);
    if (!simvirtio_table_contains(table, SIMVIRTIO_DEFAULT_BASE))
        return fail(3, "the device is not in the device table");
    if (simvirtio_write(&dev, message, sizeof message - 1) != sizeof message - 1)
        return fail(4, "sending the message");

    /* Doorbell mode: the device sent the greeting's first bytes at
     * DRIVER_OK, so its interrupt is pending in the PIC (interrupts are off
     * until now): sleep until it comes in, as a driver would. */
    if (sleeping)
        wait_for_interrupt();

    /* Echo the greeting in chunks of up to 256 bytes, up to its '\n'. */
    q_elem_t line[256];
    size_t used = 0, received = 0;
    int done = 0;
    while (!done) {
        q_elem_t c;
        if (next_byte(&c) != 0) {
            /* What came is echoed, so that the output shows it. */
            if (used > 0 && simvirtio_write(&dev, line, used) == used)
                simvirtio_flush(&dev);
            return fail(5, received == 0 ? "no greeting on RX" : "the greeting stopped before its '\\n'");
        }
        line[used++] = c;
        ++received;
        done = c == '\n';
        if (used == sizeof line || done) {
            if (simvirtio_write(&dev, line, used) != used)
                return fail(6, "echoing the greeting");
            used = 0;
        }
    }

    /* The greeting is one message: its '\n' is where the device says it ends. */
    if (!simvirtio_rx_message_done(&dev, 0))
        return fail(5, "RX_MSG_END / RX_MSG_COUNT do not mark the greeting's end");
    if (sleeping && rx_interrupts == 0)
        return fail(5, "no RX interrupt");

    if (simvirtio_flush(&dev) != 0)
        return fail(7, "flushing TX");
    if (simvirtio_device_status(&dev) != SIMVIRTIO_DEVICE_READY)
        return fail(8, "the device left DEVICE_READY");
    simvirtio_result = 42;
    return finish(42);
}
