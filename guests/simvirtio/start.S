/*
 * Entry point of the SIMVIRTIO guests, at physical (and virtual) address 0.
 *
 * The VMM enters in 64-bit long mode, identity-mapped, with RSP from the
 * machine file. main(RBX) runs - the machine file may pass an argument in
 * RBX (simvirtio-stream: the byte count) - and the guest halts with main's
 * int in RAX (a 32-bit register write clears the upper half).
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
