/*
 * string-io: port I/O the simple way and the string way (real mode).
 * Prints "rep outsb works\n" on COM1 with one `rep outsb` (a single exit
 * with count > 1), then writes the word 0x1234 to debug-exit with `outw`:
 * the VM ends with status 0x34 (the OS keeps the low byte).
 */
    .code16
    .text
    .globl _start
_start:
    cld
    mov  $message, %si
    mov  $(message_end - message), %cx
    mov  $0x3f8, %dx
    rep outsb
    mov  $0x1234, %ax
    mov  $0xf4, %dx
    outw %ax, (%dx)
    hlt
message:
    .ascii "rep outsb works\n"
message_end:
