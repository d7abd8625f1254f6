/*
 * Entry point of the guest SDK's protected-mode C guests (MODE protected),
 * placed first by guest-protected.ld (section .text.start).
 *
 * The VMM enters with flat 32-bit segments, paging and interrupts off and
 * ESP from the machine file (default: the top of RAM). _start calls main()
 * and halts with its int in EAX, for the machine file's [[check]]s.
 */
    .code32
    .section .text.start, "ax"
    .globl _start
_start:
    call main
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits   /* no executable stack */
