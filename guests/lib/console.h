/*
 * console.h - text output for guests, through two simple devices.
 *
 *   debugcon: the Bochs/QEMU debug console, one port (0xE9); every byte
 *             written appears on the VMM's stdout (the `console` plugin).
 *   uart:     a 16550 UART at a port base (COM1 = 0x3f8; the `serial`
 *             plugin). Before each byte the guest polls the line status
 *             register (base + 5) until THRE (bit 5) says the transmit
 *             holding register is empty, as a real driver must.
 *
 * No initialisation is needed for either (the UART is used as firmware
 * leaves it: 8N1, no interrupts). Nothing is buffered: each character is
 * one OUT instruction.
 */
#ifndef GUEST_LIB_CONSOLE_H
#define GUEST_LIB_CONSOLE_H

#include <stdint.h>

#define DEBUGCON_PORT 0xe9
#define UART_COM1 0x3f8
#define UART_THR 0          /* transmit holding register (write) */
#define UART_LSR 5          /* line status register */
#define UART_LSR_THRE 0x20  /* THR empty: the next byte may be written */

/* debugcon (port 0xE9). */
void debugcon_putc(char c);
void debugcon_puts(const char *s);   /* no newline added */
int debugcon_present(void);          /* 1 if port 0xE9 reads back 0xE9 */

/* 16550 UART at `base` (e.g. UART_COM1). */
void uart_putc(uint16_t base, char c);
void uart_puts(uint16_t base, const char *s);  /* no newline added */

#endif /* GUEST_LIB_CONSOLE_H */
