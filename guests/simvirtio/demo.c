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
 * The same binary runs in both notify modes (machines simvirtio.toml and
 * simvirtio-poll.toml): the driver reads the mode from the config space.
 * On a failure it says which step failed on the debug console (port 0xE9)
 * and returns the step's number instead of 42, so the checks fail.
 */
#include <stdint.h>

#include "console.h"
#include "format.h"
#include "layout.h"
#include "simvirtio.h"

#define QUEUE_BYTES 4096
/* How long to wait for the next greeting byte: ~1 s at 2 GHz. */
#define GREETING_WAIT_CYCLES (1ull << 31)

static simvirtio_t dev;
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
    return step;
}

int main(void)
{
    static const char message[] = "Ana are mere!\n";

    if (simvirtio_init(&dev, SIMVIRTIO_GUEST_MMIO_BASE, tx_buffer, QUEUE_BYTES, rx_buffer, QUEUE_BYTES) != 0)
        return fail(1, "no device, or it refused a queue");
    if (simvirtio_handshake(&dev) != 0)
        return fail(2, "handshake");
    if (!simvirtio_table_contains(&simvirtio_device_table, SIMVIRTIO_GUEST_MMIO_BASE))
        return fail(3, "the device is not in the device table");
    if (simvirtio_write(&dev, message, sizeof message - 1) != sizeof message - 1)
        return fail(4, "sending the message");

    /* Echo the greeting in chunks of up to 256 bytes, up to its '\n'. */
    q_elem_t line[256];
    size_t used = 0, received = 0;
    int done = 0;
    while (!done) {
        q_elem_t c;
        if (simvirtio_read_byte_wait(&dev, &c, GREETING_WAIT_CYCLES) != 0) {
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

    if (simvirtio_flush(&dev) != 0)
        return fail(7, "flushing TX");
    if (simvirtio_device_status(&dev) != SIMVIRTIO_DEVICE_READY)
        return fail(8, "the device left DEVICE_READY");
    simvirtio_result = 42;
    return 42;
}
