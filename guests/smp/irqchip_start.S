/*
 * smp-irqchip: the BSP's entry point and the APs' real-mode trampoline.
 *
 * _start (long mode, at 1 MiB): only vCPU 0 runs it; the in-kernel LAPICs
 * hold the other vCPUs in wait-for-SIPI. It calls bsp_main(), which ends
 * the VM through debug-exit; the HLT after it is never reached in practice.
 *
 * ap_trampoline (16-bit, linked at 0x8000 = SIPI vector 0x08): a SIPI
 * starts an AP in real mode at CS = 0x0800, IP = 0. It increments the
 * counter at a fixed low address (DS = 0) with a locked add, then halts
 * forever with interrupts off: HLT stays in the kernel with an irqchip, so
 * the AP sleeps there until the VM ends.
 */
    .code64
    .section .text.start, "ax"
    .globl _start
_start:
    call bsp_main
1:  hlt
    jmp 1b

    .section .trampoline, "ax"
    .code16
    .globl ap_trampoline
ap_trampoline:
    cli
    xorw %ax, %ax
    movw %ax, %ds
    lock incl ap_count      /* absolute 16-bit address, below 64 KiB */
1:  cli
    hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits   /* no executable stack */
