/*
 * hello: the kvm-hello-world guest (seed 000), unchanged.
 * Real mode, loaded at 0x1000 with AL = BL = 2: prints AL + BL as a digit
 * and a newline on COM1 (port 0x3f8), then halts. Expected output: "4\n".
 */
    .code16
    .text
    .globl _start
_start:
    mov  $0x3f8, %dx
    add  %bl, %al
    add  $'0', %al
    out  %al, (%dx)
    mov  $'\n', %al
    out  %al, (%dx)
    hlt
