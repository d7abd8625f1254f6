/*
 * protected32: compiled 32-bit C in protected mode, without paging.
 *
 * It prints "Hello from 32-bit protected mode\n" on COM1 (a 16550 at 0x3f8,
 * polling LSR.THRE before each byte), then records two words that the
 * machine file's checks read after the vCPU halts:
 *   0x500: 0xc0de0032, a marker only this C code writes;
 *   0x504: CR0 & (PG | PE), which must be PE (1): protected, not paged.
 * main returns the length of the message (33), left in EAX by _start.
 *
 * What it proves: the VMM's "protected" mode runs 32-bit compiled code
 * with working flat code, data and stack segments at 1 MiB.
 */
#include <stdint.h>

#include "console.h"
#include "format.h"

#define CR0_PE 0x00000001u
#define CR0_PG 0x80000000u

/* Fixed addresses, defined in protected32.ld. */
extern volatile uint32_t protected32_marker;  /* 0x500 */
extern volatile uint32_t protected32_cr0;     /* 0x504 */

static const char message[] = "Hello from 32-bit protected mode\n";

int main(void)
{
    uint32_t cr0;

    uart_puts(UART_COM1, message);
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    protected32_cr0 = cr0 & (CR0_PG | CR0_PE);
    protected32_marker = 0xc0de0032;
    return (int)strlen(message);
}
