/*
 * console.c - debugcon and polled 16550 output; see console.h.
 */
#include "console.h"

#include "io.h"

void debugcon_putc(char c)
{
    outb((uint8_t)c, DEBUGCON_PORT);
}

void debugcon_puts(const char *s)
{
    while (*s)
        debugcon_putc(*s++);
}

int debugcon_present(void)
{
    /* Bochs, QEMU and the `console` plugin read back 0xE9 from the port. */
    return inb(DEBUGCON_PORT) == DEBUGCON_PORT;
}

void uart_putc(uint16_t base, char c)
{
    while ((inb(base + UART_LSR) & UART_LSR_THRE) == 0)
        __asm__ volatile("pause");
    outb((uint8_t)c, base + UART_THR);
}

void uart_puts(uint16_t base, const char *s)
{
    while (*s)
        uart_putc(base, *s++);
}
