/*
 * smp entry point: every vCPU starts here at once (no irqchip), in long
 * mode, with its index in RDI and its own stack in RSP (set by the VMM).
 * RDI is also the first argument register of the SysV ABI, so the index
 * goes straight to smp_main(index). Each vCPU halts when it returns.
 */
    .code64
    .section .text.start, "ax"
    .globl _start
_start:
    call smp_main
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits   /* no executable stack */
