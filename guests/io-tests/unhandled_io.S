/*
 * unhandled-io: touches a port and an MMIO address no device claims.
 * Reads port 0x80 twice and the byte at 0xa0000 (no RAM there), writes to
 * both, and reports through debug-exit the AND of the values read: 0xff when
 * every unclaimed read returned all ones, as the VMM promises.
 */
    .code16
    .text
    .globl _start
_start:
    in   $0x80, %al
    mov  %al, %bl
    in   $0x80, %al          /* the same address again: logged only once */
    and  %al, %bl
    out  %al, $0x80
    mov  $0xa000, %ax
    mov  %ax, %ds
    movb (0), %al            /* MMIO read, nobody there */
    and  %al, %bl
    movw $0x5555, (2)        /* MMIO write, ignored */
    mov  %bl, %al
    out  %al, $0xf4          /* debug-exit with the combined value */
    hlt
