/*
 * crc32-demo: the guest of the SDK's example plugin (sdk/examples/crc32),
 * built with vmm_add_guest(crc32-demo MODE long ...) from the guest SDK.
 *
 * It asks the crc32 device at 0xd0001000 for the CRC-32 of "123456789"
 * (the standard check value is 0xcbf43926), then for a buffer outside guest
 * RAM and for one longer than the device's max_length (both must be refused
 * with their status), prints each answer on COM1 and writes 0 to debug-exit
 * when all three were right, else the number of the first wrong one.
 */
#include <stdint.h>

#include "console.h"
#include "format.h"
#include "io.h"

#define CRC_BASE 0xd0001000ull
#define REG(offset) ((volatile uint32_t *)(uintptr_t)(CRC_BASE + (offset)))
#define REG64(offset) ((volatile uint64_t *)(uintptr_t)(CRC_BASE + (offset)))

static const char check[] = "123456789";

static uint32_t ask(uint64_t address, uint32_t length, uint32_t *status)
{
    *REG64(0x00) = address;
    *REG(0x08) = length;
    *REG(0x0c) = 1;
    *status = *REG(0x14);
    return *REG(0x10);
}

static void report(const char *what, uint32_t value)
{
    char hex[FMT_BUFFER_SIZE];
    fmt_hex(hex, value, 8);
    uart_puts(UART_COM1, what);
    uart_puts(UART_COM1, hex);
    uart_putc(UART_COM1, '\n');
}

void main(void)
{
    uint32_t status;
    int failed = 0;

    const uint32_t crc = ask((uint64_t)(uintptr_t)check, 9, &status);
    report("crc32(\"123456789\") = ", crc);
    if (status != 0 || crc != 0xcbf43926u)
        failed = 1;

    ask(0x7ff00000ull, 16, &status); /* beyond the 1 MiB of RAM */
    report("outside RAM: status ", status);
    if (!failed && status != 1)
        failed = 2;

    ask((uint64_t)(uintptr_t)check, 8192, &status); /* > max_length (4096) */
    report("too long: status ", status);
    if (!failed && status != 2)
        failed = 3;

    outb((uint8_t)failed, 0xf4);
}
