/*
 * so2-long64 entry point, at physical (and virtual) address 0.
 *
 * The VMM enters in 64-bit long mode (identity-mapped, RSP = 0x100000 from
 * the machine file). _start calls main() and halts with its return value
 * in RAX: main returns an int in EAX, and a 32-bit register write clears
 * the upper half of RAX, so RAX holds exactly main's value.
 */
    .code64
    .section .text.start, "ax"
    .globl _start
_start:
    call main
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits   /* no executable stack */
