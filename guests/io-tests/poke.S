/*
 * poke: reads the byte at guest-physical 0xa0020 (a device register, in a
 * test machine) and reports it through debug-exit (port 0xf4).
 */
    .code16
    .text
    .globl _start
_start:
    mov  $0xa000, %ax
    mov  %ax, %ds
    movb (0x20), %al
    out  %al, $0xf4
    hlt
