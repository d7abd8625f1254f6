/*
 * Entry point of the introspection guests (hypercall, cpuid-brand,
 * exit-counts). The VMM starts every vCPU here in long mode (no irqchip),
 * with its index in RDI and its own stack: RDI is the SysV ABI's first
 * argument, so the index goes straight to intro_main(index). A vCPU halts
 * when intro_main returns; `intro_halt` labels that HLT (the tests find
 * it in the symbol table).
 */
    .code64
    .section .text.start, "ax"
    .globl _start
_start:
    call intro_main
    .globl intro_halt
intro_halt:
    hlt
    jmp intro_halt

    .section .note.GNU-stack, "", @progbits   /* no executable stack */
