/* crc32-demo entry point: call main(), then halt (debug-exit ends the VM first). */
    .code64
    .section .text.start, "ax"
    .globl _start
_start:
    call main
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
