/*
 * pc-pit-real: a real-mode guest that sleeps in `sti; hlt` and is woken by
 * the PIT through the PIC (machine: configs/machines/pc-pit-real.toml, the
 * pc profile: irqchip = true, pit = true).
 *
 * Loaded flat at 0x1000 and entered there with CS = DS = SS = 0. It points
 * real-mode interrupt vector 0x20 (the IVT at 0, entry 0x20 at 0x80) at its
 * handler, remaps the master PIC to vectors 0x20-0x27 with only IRQ 0
 * unmasked (the slave fully masked), programs PIT channel 0 as a rate
 * generator at ~1 kHz, then loops on `sti; hlt` until the handler has
 * counted TICKS interrupts. It prints "woken by the PIT 10 times" on COM1
 * and writes 0 to debug-exit (port 0xf4).
 *
 * What it proves: KVM's in-kernel PIT drives IRQ 0 through the PIC and the
 * boot vCPU's LINT0 (ExtINT) into a real-mode guest's IVT, and HLT with an
 * irqchip waits for that interrupt instead of ending the vCPU.
 */
#define TICKS 10
#define PIT_DIVISOR 1193        /* 1193182 Hz / 1193: ~1000 Hz */
#define COM1 0x3f8
#define DEBUG_EXIT 0xf4

    .code16
    .text
    .globl _start
_start:
    cli
    xorw %ax, %ax
    movw %ax, %ds
    movw %ax, %ss
    movw $0x7000, %sp
    movw $on_tick, 0x20 * 4         /* IVT[0x20] = 0000:on_tick */
    movw $0, 0x20 * 4 + 2

    movb $0x11, %al                 /* ICW1: edge, cascade, ICW4 follows */
    outb %al, $0x20
    movb $0x20, %al                 /* ICW2: IRQ 0-7 at vectors 0x20-0x27 */
    outb %al, $0x21
    movb $0x04, %al                 /* ICW3: the slave on IRQ 2 */
    outb %al, $0x21
    movb $0x01, %al                 /* ICW4: 8086 mode, normal EOI */
    outb %al, $0x21
    movb $0xfe, %al                 /* OCW1: only IRQ 0 */
    outb %al, $0x21
    movb $0xff, %al                 /* the slave: nothing */
    outb %al, $0xa1

    movb $0x34, %al                 /* channel 0, lo/hi byte, mode 2, binary */
    outb %al, $0x43
    movb $(PIT_DIVISOR & 0xff), %al
    outb %al, $0x40
    movb $(PIT_DIVISOR >> 8), %al
    outb %al, $0x40

sleep:
    sti                             /* the STI shadow makes sti; hlt atomic */
    hlt
    cli
    cmpw $TICKS, ticks
    jb sleep

    movw $message, %si
print:
    movb (%si), %bl
    testb %bl, %bl
    jz done
wait_thre:
    movw $(COM1 + 5), %dx           /* LSR: bit 5, transmitter holding register empty */
    inb %dx, %al
    testb $0x20, %al
    jz wait_thre
    movw $COM1, %dx
    movb %bl, %al
    outb %al, %dx
    incw %si
    jmp print
done:
    movb $0, %al
    outb %al, $DEBUG_EXIT
    cli
halt:
    hlt
    jmp halt

on_tick:
    pushw %ax
    incw ticks
    movb $0x20, %al                 /* non-specific EOI to the master */
    outb %al, $0x20
    popw %ax
    iret

message:
    .asciz "woken by the PIT 10 times\n"
    .balign 2
ticks:
    .word 0
