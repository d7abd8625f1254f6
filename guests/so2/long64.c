/*
 * so2-long64: the SO2 assignment's 64-bit guest (seed 001, "guest_32_bits"
 * in the assignment, which actually runs in long mode).
 *
 * It prints "Hello, world!\n" on port 0xE9 (the debug console, one OUT per
 * byte), writes the 32-bit value 42 at physical 0x400 and returns 42, which
 * _start (guests/lib/start64.S) leaves in RAX before halting.
 *
 * What it proves: the VMM sets up long mode (paging, 64-bit code segment,
 * a stack) well enough to run compiled C, routes port 0xE9 to the console
 * plugin, and the memory/register checks see the results.
 *
 * Layout (long64.ld): _start at 0, everything else from 0x1000 on, so the
 * word at 0x400 is free memory, not code.
 */
#include <stdint.h>

#include "console.h"

/* Physical 0x400, defined in long64.ld: a linker symbol rather than a cast
 * constant, which gcc 12 would flag as an out-of-bounds access. */
extern volatile uint32_t so2_result;

int main(void)
{
    debugcon_puts("Hello, world!\n");
    so2_result = 42;
    return 42;
}
