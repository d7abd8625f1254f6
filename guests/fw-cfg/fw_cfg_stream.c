/*
 * fw-cfg-stream: reads fw_cfg's first file (selector 0x20) byte by byte
 * through the data port, slowly enough (one VM exit per byte) that a test
 * can swap the fw-cfg plugin in the middle, and checks every byte against
 * the pattern the test wrote: byte i is i % 251. A swap that lost the
 * selector or the offset shows as wrong bytes. Then one DMA read of the
 * file's first 16 bytes checks the new instance's DMA. Prints
 * "stream: N bytes, W wrong" on COM1 and exits through
 * debug-exit with 0 when nothing was wrong, else 1.
 */
#include <stdint.h>

#include "console.h"
#include "format.h"
#include "io.h"

struct dma_descriptor {
    uint32_t control, length;
    uint64_t address;
} __attribute__((packed, aligned(16)));

static volatile struct dma_descriptor descriptor;
static volatile uint8_t buffer[16];

void kmain(void)
{
    outw(0x19, 0x510); /* the directory: the first file's size */
    uint8_t header[8];
    for (int i = 0; i < 8; ++i)
        header[i] = inb(0x511);
    const uint32_t size = (uint32_t)header[4] << 24 | header[5] << 16 | header[6] << 8 | header[7];

    outw(0x20, 0x510);
    uint32_t wrong = 0;
    for (uint32_t i = 0; i < size; ++i)
        wrong += inb(0x511) != (uint8_t)(i % 251);

    descriptor.control = __builtin_bswap32(0x20u << 16 | 0x08 | 0x02); /* select 0x20, read */
    descriptor.length = __builtin_bswap32(16);
    descriptor.address = __builtin_bswap64((uint32_t)(uintptr_t)buffer);
    outl(0, 0x514);
    outl(__builtin_bswap32((uint32_t)(uintptr_t)&descriptor), 0x518);
    for (uint32_t i = 0; i < 16; ++i)
        wrong += buffer[i] != i;
    wrong += descriptor.control != 0;

    char digits[FMT_BUFFER_SIZE];
    uart_puts(UART_COM1, "stream: ");
    fmt_dec(digits, size);
    uart_puts(UART_COM1, digits);
    uart_puts(UART_COM1, " bytes, ");
    fmt_dec(digits, wrong);
    uart_puts(UART_COM1, digits);
    uart_puts(UART_COM1, " wrong\n");
    outl(wrong == 0 ? 0 : 1, 0xf4);
}
