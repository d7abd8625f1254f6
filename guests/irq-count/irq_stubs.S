/*
 * irq-count: the interrupt entry points its IDT points to.
 *
 * isr_stubs: 256 stubs, 16 bytes apart, one per vector; each pushes its
 * vector and jumps to unexpected_interrupt() (irq_count.c), which never
 * returns: it records the vector and ends the VM. An exception's error code
 * is left on the stack, which does not matter since nothing returns.
 *
 * isr_<name>: the vectors the guest expects. Each saves the registers a C
 * function may clobber (the System V caller-saved ones), calls on_<name>()
 * and returns with iretq. The CPU pushed SS, RSP, RFLAGS, CS, RIP (40
 * bytes) on a 16-byte-aligned stack; the nine pushes (72 bytes) make 112,
 * so RSP is 16-byte aligned again at the call, as the ABI wants.
 */
    .code64
    .text

    .globl isr_stubs
    .balign 16
isr_stubs:
    vector = 0
    .rept 256
    .balign 16
    pushq $vector
    jmp   stub_common
    vector = vector + 1
    .endr

stub_common:
    popq  %rdi
    call  unexpected_interrupt
1:  hlt
    jmp   1b

    .macro handler name
    .globl isr_\name
isr_\name:
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    call  on_\name
    popq  %r11
    popq  %r10
    popq  %r9
    popq  %r8
    popq  %rdi
    popq  %rsi
    popq  %rdx
    popq  %rcx
    popq  %rax
    iretq
    .endm

    handler edge
    handler level
    handler msi
    handler watchdog
    handler spurious

    .section .note.GNU-stack, "", @progbits   /* no executable stack */
