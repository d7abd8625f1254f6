/*
 * simvirtio-stream: streams RBX bytes guest -> host through SIMVIRTIO, for
 * the benchmark (tests/bench/simvirtio_bench.cpp) and the end-to-end tests.
 *
 * After the handshake it sends RBX bytes of a repeating 64-byte line
 * ("0123...XYZabc...z." and a newline: 64 bytes), each
 * simvirtio_write as large as the TX ring holds (max_queue_length - 1, up
 * to 65534), flushes TX, checks that the device is still READY (so no byte
 * was discarded), writes 42 at 0x400 and returns 42. In exit mode a
 * full ring costs three exits (read head, read tail, write head); in poll
 * mode the data moves without exits. On a failure it returns the step.
 */
#include <stdint.h>

#include "console.h"
#include "format.h"
#include "layout.h"
#include "simvirtio.h"

#define LINE 64
#define TX_BYTES 65535

static simvirtio_t dev;
static q_elem_t tx_buffer[TX_BYTES];
static q_elem_t rx_buffer[64];
static q_elem_t source[TX_BYTES + LINE];

static int fail(int step, const char *what)
{
    debugcon_puts("simvirtio-stream: ");
    debugcon_puts(what);
    debugcon_puts("\n");
    return step;
}

int main(uint64_t count)
{
    static const char line[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.\n";
    _Static_assert(sizeof line == LINE + 1, "the line is LINE bytes and a NUL");
    /* The line, then doubling copies: few guest memory accesses (each is
     * expensive on some hosts; see tests/bench/simvirtio_bench.cpp). */
    memcpy(source, line, LINE);
    for (size_t have = LINE; have < sizeof source; have *= 2)
        memcpy(source + have, source, have < sizeof source - have ? have : sizeof source - have);

    if (simvirtio_init(&dev, SIMVIRTIO_GUEST_MMIO_BASE, tx_buffer, TX_BYTES, rx_buffer, sizeof rx_buffer) != 0)
        return fail(1, "no device, or it refused a queue");
    if (simvirtio_use_device_table(&dev, &simvirtio_device_table) != 0) /* when the machine sets none */
        return fail(1, "the machine gives another device table");
    if (simvirtio_handshake(&dev) != 0)
        return fail(2, "handshake");

    const uint32_t chunk = dev.tx.maxlen - 1;
    uint64_t sent = 0;
    while (sent < count) {
        const uint64_t left = count - sent;
        const size_t n = left < chunk ? (size_t)left : chunk;
        if (simvirtio_write(&dev, source + sent % LINE, n) != n)
            return fail(3, "the device stopped taking data");
        sent += n;
    }
    if (simvirtio_flush(&dev) != 0)
        return fail(4, "flushing TX");
    /* In DEVICE_ERROR the device consumes TX and discards it: only a device
     * still READY has written every byte. */
    if (simvirtio_device_status(&dev) != SIMVIRTIO_DEVICE_READY)
        return fail(5, "the device left DEVICE_READY");
    simvirtio_result = 42;
    return 42;
}
