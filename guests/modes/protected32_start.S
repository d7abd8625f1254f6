/*
 * protected32 entry point (32-bit protected mode, linked at 0x100000).
 *
 * The VMM enters with flat 32-bit segments, paging and interrupts off and
 * ESP at the top of RAM. _start calls main(), which returns the number of
 * bytes it printed; it stays in EAX for the machine file's check.
 */
    .code32
    .section .text.start, "ax"
    .globl _start
_start:
    call main
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits   /* no executable stack */
