/* runaway: spins forever without an exit; only a wall-clock limit stops it. */
    .code16
    .text
    .globl _start
_start:
    jmp  _start
