/*
 * pio-loop: ECX port writes to 0x3ff (the 16550's scratch register: a real
 * device dispatch with no side effect), then HLT. ECX is set by the machine
 * file or the benchmark; each write is one VM exit.
 */
    .code16
    .text
    .globl _start
_start:
    mov  $0x3ff, %dx
    test %ecx, %ecx
    jz   2f
1:  out  %al, (%dx)
    dec  %ecx
    jnz  1b
2:  hlt
