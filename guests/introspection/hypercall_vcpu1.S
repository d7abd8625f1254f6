/*
 * vCPU 1's part of the hypercall guest: recognisable values in every
 * register it can spare, five OUTs to port 0x600, then the "done" flag in
 * shared memory and HLT. Written in assembly so that nothing disturbs the
 * registers between the last OUT and the HLT: the registers the VMM saved
 * at either exit (the last OUT or the HLT) show the same values for RBX,
 * RSI, RBP and R8-R15, and the test knows them:
 *
 *   rbx = 0xb0b0b0b0b0b0b0b1   rsi = 0x5151515151515151   rbp = 0xb9b9b9b9b9b9b9b9
 *   r8  = 0x0808080808080808   r9  = 0x0909090909090909   ...
 *   r15 = 0x1515151515151515   (rN = the byte 0xNN repeated, N in decimal)
 *
 * Labels for the test: vcpu1_last_out (the fifth OUT; RIP at its exit),
 * vcpu1_hlt (RIP at the HLT exit is vcpu1_hlt + 1).
 */
    .code64
    .text
    .globl vcpu1_work
vcpu1_work:
    movabs $0xb0b0b0b0b0b0b0b1, %rbx
    movabs $0x5151515151515151, %rsi
    movabs $0xb9b9b9b9b9b9b9b9, %rbp
    movabs $0x0808080808080808, %r8
    movabs $0x0909090909090909, %r9
    movabs $0x1010101010101010, %r10
    movabs $0x1111111111111111, %r11
    movabs $0x1212121212121212, %r12
    movabs $0x1313131313131313, %r13
    movabs $0x1414141414141414, %r14
    movabs $0x1515151515151515, %r15
    mov    $0x600, %edx
    mov    $1, %eax             /* values 1, 2, 3, 4 and 5 */
1:  cmp    $5, %eax
    je     2f
    outb   %al, %dx
    inc    %eax
    jmp    1b
2:
    .globl vcpu1_last_out
vcpu1_last_out:
    outb   %al, %dx             /* the fifth: value 5 */
    movl   $1, shared_vcpu1_done(%rip)
    .globl vcpu1_hlt
vcpu1_hlt:
    hlt
    jmp    vcpu1_hlt

    .section .note.GNU-stack, "", @progbits
