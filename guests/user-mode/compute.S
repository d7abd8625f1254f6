/*
 * user-compute: a compute loop that runs unchanged in `mode = "long"` and
 * `mode = "user"` (tests/bench/user_mode_bench.cpp): RBX turns of a
 * 64-bit xorshift, the result stored at 0x400 and left in RAX, then HLT.
 * Only unprivileged instructions besides the HLT: at CPL 3 the VMM's
 * handler turns the HLT's #GP into the end of the vCPU.
 */
    .code64
    .text
    .globl _start
_start:
    mov   $0x9e3779b97f4a7c15, %rax
    mov   %rbx, %rcx
    test  %rcx, %rcx
    jz    2f
1:  mov   %rax, %rdx
    shl   $13, %rdx
    xor   %rdx, %rax
    mov   %rax, %rdx
    shr   $7, %rdx
    xor   %rdx, %rax
    mov   %rax, %rdx
    shl   $17, %rdx
    xor   %rdx, %rax
    dec   %rcx
    jnz   1b
2:  mov   %rax, 0x400
    hlt
    jmp   2b

    .section .note.GNU-stack, "", @progbits   /* no executable stack */
