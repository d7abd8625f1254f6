/*
 * triple-fault: enters 32-bit protected mode properly (flat GDT, far jump),
 * loads an empty IDT and divides by zero. The #DE cannot be delivered (its
 * vector lies beyond the IDT limit), nor the #GP and #DF that follow,
 * so the CPU shuts down: KVM_EXIT_SHUTDOWN. The VMM must print a report and
 * exit 1.
 *
 * (In real mode the IVT limit is not enforced, so this needs protected mode;
 * and KVM cannot run protected mode on a real-mode CS cache without falling
 * back to its emulator, hence the far jump. KVM also intercepts #BP and
 * #UD to emulate them, and its emulator gives up on an empty IDT; a divide
 * error is left to the hardware.)
 */
    .code16
    .text
    .globl _start
_start:
    cli
    lgdtl gdt_descriptor
    mov  %cr0, %eax
    or   $1, %eax            /* PE */
    mov  %eax, %cr0
    ljmpl $0x08, $protected

    .code32
protected:
    mov  $0x10, %ax
    mov  %ax, %ds            /* every segment: a stale real-mode one would */
    mov  %ax, %es            /* make VMX refuse the state and KVM emulate */
    mov  %ax, %fs
    mov  %ax, %gs
    mov  %ax, %ss
    mov  $0x2000, %esp
    lidtl empty_idt
    mov  $0x1234, %eax       /* recognisable in the register dump */
    xor  %ecx, %ecx
    div  %ecx                /* #DE: delivered by the CPU, not intercepted */
    hlt

    .p2align 3
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff /* 0x08: 32-bit flat code */
    .quad 0x00cf92000000ffff /* 0x10: flat data */
gdt_end:
gdt_descriptor:
    .word gdt_end - gdt - 1
    .long gdt
empty_idt:
    .word 0
    .long 0
