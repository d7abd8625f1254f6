/*
 * reset-vector: the C++ KVM example (seed 004) as a 4 KiB ROM.
 *
 * The ROM sits at 0xfffff000. A vCPU in its architectural reset state runs
 * at CS:IP = f000:fff0 with CS.base = 0xffff0000, i.e. at ROM offset 0xff0,
 * where a near jump leads back to the start of the page. The code there sets
 * a stack in the RAM page at 0, calls sum(2, 3) and halts with 5 in AX.
 *
 * Linked at 0xf000 so that labels are offsets within the CS segment.
 */
    .code16
    .text
    .globl _start
_start:
    mov  $0x1000, %sp       /* stack at the top of the data page at 0 */
    pushw $2
    pushw $3
    call sum
    add  $4, %sp
    hlt

sum:                        /* returns the sum of its two arguments in AX */
    push %bp
    mov  %sp, %bp
    mov  6(%bp), %ax
    mov  4(%bp), %dx
    add  %dx, %ax
    pop  %bp
    ret

    .org 0xff0              /* the reset vector: physical 0xfffffff0 */
reset_vector:
    jmp  _start
    .org 0x1000, 0xf4       /* fill the page (with HLT, should anything stray there) */
