/*
 * counter entry point. The machine file gives the count in RBX; main()
 * takes it as its first argument (RDI), and halts when it returns.
 */
    .code64
    .section .text.start, "ax"
    .globl _start
_start:
    mov  %rbx, %rdi
    call main
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
