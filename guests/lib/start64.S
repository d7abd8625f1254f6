/*
 * Entry point of the long-mode C guests, placed first by their linker
 * scripts (section .text.start, physical = virtual address 0).
 *
 * The VMM enters in 64-bit long mode, identity-mapped, with RSP from the
 * machine file. _start calls main(RBX): a machine file may pass one
 * argument in RBX (counter: how far to count; simvirtio-stream: the byte
 * count); guests whose main takes none ignore it. It then halts with main's
 * int in RAX (a 32-bit register write clears the upper half, so RAX holds
 * exactly main's value, which the machines' [[check]]s read).
 */
    .code64
    .section .text.start, "ax"
    .globl _start
_start:
    mov  %rbx, %rdi
    call main
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits   /* no executable stack */
