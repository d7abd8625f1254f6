/*
 * user-faults: one exception (or HLT) per run, for `[cpu] mode = "user"`
 * (tests/e2e/test_user_mode.cpp). The VMM enters at 0x1000 at CPL 3; RBX
 * picks what happens, each at a fixed address so that the tests know the
 * RIP the VMM must report:
 *   0  0x1100  hlt (RAX = 42 first): ends the vCPU like HLT in long mode
 *   1  0x1200  mov %cr3, %rax: privileged, #GP(0)
 *   2  0x1300  ud2: #UD
 *   3  0x1400  div by zero: #DE
 *   4  0x1500  write to 0x8000000000 (512 GiB, not mapped): #PF, error
 *              code 6 (write, user, not present), CR2 = that address
 *   5  0x1600  write to the VMM's system area (RDI = its address, given by
 *              the test): #PF, error code 7 (protection: supervisor page)
 *   6  0x1700  int $0x80: what INT n from CPL 3 does on this host
 *   7  0x1800  port I/O at CPL 3: writes 0x33 to debug-exit (port 0xf4)
 */
    .code64
    .text
    .globl _start
_start:
    cmp   $7, %rbx
    ja    0f
    mov   %rbx, %rax
    shl   $8, %rax
    add   $0x1100, %rax
    jmp   *%rax
0:  ud2

    .org 0x100
    mov   $42, %eax
    hlt
    jmp   .

    .org 0x200
    mov   %cr3, %rax
    jmp   .

    .org 0x300
    ud2

    .org 0x400
    xor   %ecx, %ecx
    mov   $1, %eax
    xor   %edx, %edx
    div   %ecx

    .org 0x500
    movabs $0x8000000000, %rdi
    movq  $1, (%rdi)

    .org 0x600
    movq  $1, (%rdi)

    .org 0x700
    int   $0x80

    .org 0x800
    mov   $0x33, %eax
    out   %al, $0xf4
    jmp   .

    .section .note.GNU-stack, "", @progbits   /* no executable stack */
