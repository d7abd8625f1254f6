/*
 * Entry point of the guest SDK's real-mode C guests (MODE real: gcc -m16,
 * 32-bit code with operand-size prefixes, addresses below 64 KiB), placed
 * first by guest-real.ld (section .text.start).
 *
 * The VMM enters with CS:IP = 0000:entry, the data segments 0 and SP at the
 * top of the first 64 KiB. _start clears the high half of ESP (code built
 * with -m16 uses ESP), calls main() with a 32-bit return address (calll, as
 * gcc's code returns with retl) and halts with main's int in EAX.
 */
    .code16
    .section .text.start, "ax"
    .globl _start
_start:
    movzwl %sp, %esp
    calll main
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits   /* no executable stack */
