/*
 * counter: streams the lines "0", "1", ..., "N-1" through the serial port
 * (COM1, polling LSR before each byte), then halts. N comes from RBX.
 *
 * What it proves: with a known, gap-free sequence on the wire, a test can
 * tell whether swapping the serial device's plugin while the guest writes
 * lost or doubled a single byte: the two outputs, joined, must be exactly
 * the sequence.
 */
#include <stdint.h>

#include "console.h"
#include "format.h"

void main(uint64_t count)
{
    char digits[FMT_BUFFER_SIZE];
    for (uint64_t i = 0; i < count; ++i) {
        fmt_dec(digits, i);
        uart_puts(UART_COM1, digits);
        uart_putc(UART_COM1, '\n');
    }
}
