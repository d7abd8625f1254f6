/*
 * so2-real16: the SO2 assignment's first guest (seed 001, "guest_16_bits"),
 * in real mode.
 *
 * Loaded flat at 0 and entered at 0 with CS = DS = 0. It writes the 16-bit
 * word 42 at physical 0x400, leaves 42 in AX and halts; it prints nothing.
 *
 * What it proves: the VMM runs real-mode code at the entry it was given and
 * its memory/register checks see the guest's results (RAX = 42 and the word
 * at 0x400 = 42, read back after the vCPU halted).
 */
    .code16
    .text
    .globl _start
_start:
    movw $42, %ax
    movw %ax, 0x400         /* DS = 0: physical 0x400 */
    hlt
