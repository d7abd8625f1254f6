/*
 * cpl3_switch.S - the privilege switches of cpl3.h:
 *   cpl3_run          CPL 0 -> CPL 3 by IRETQ; back when the function returns
 *   exception stubs   CPL 3 -> CPL 0 through the IDT, into cpl3_on_fault
 *
 *   cpl3_syscall      CPL 3 -> CPL 0 by `int $0x80` for one call, back by IRETQ
 *
 * The system call's convention: RDI = the CPL 0 function (0: "fn returned,
 * leave CPL 3", RSI = its result), RSI = its argument. It runs on the RSP0
 * stack, which cpl3_run sets to the stack it was called on.
 *
 * Why not SYSCALL: on kvm_pvm (this project's CI host) SYSCALL from CPL 3
 * jumps to LSTAR but stays at CPL 3 (CS unchanged), so the "kernel" side
 * faults at its first privileged instruction. And why the #UD path: there,
 * `int $n` from CPL 3 raises #UD at the INT instead of entering gate n. On
 * hardware the DPL 3 gate 0x80 is taken; both paths end in the same entry.
 */
#define USER_DS 0x23
#define USER_CS 0x2b
#define USER_RFLAGS 0x3002     /* IOPL 3 (where the host honours it), interrupts off */
#define TSS_RSP0 4
#define SYSCALL_VECTOR 0x80

    .code64
    .text

/* uint64_t cpl3_run(fn = RDI, arg = RSI, user_stack = RDX) */
    .globl cpl3_run
cpl3_run:
    push  %rbx
    push  %rbp
    push  %r12
    push  %r13
    push  %r14
    push  %r15
    mov   %rsp, cpl3_kernel_rsp(%rip)
    mov   cpl3_tss(%rip), %rax
    mov   %rsp, TSS_RSP0(%rax)          /* exceptions from CPL 3 land here too */
    and   $-16, %rdx
    lea   cpl3_user_return(%rip), %rax
    mov   %rax, -8(%rdx)                /* fn returns into cpl3_user_return */
    sub   $8, %rdx                      /* as after a CALL: RSP + 8 aligned to 16 */
    mov   %rdi, %rax
    mov   %rsi, %rdi
    pushq $USER_DS
    pushq %rdx
    pushq $USER_RFLAGS
    pushq $USER_CS
    pushq %rax
    iretq

/* CPL 3: fn returned its result in RAX. */
cpl3_user_return:
    mov   %rax, %rsi
    xor   %edi, %edi
    int   $SYSCALL_VECTOR
    ud2

/* uint64_t cpl3_syscall(fn = RDI, arg = RSI) */
    .globl cpl3_syscall
cpl3_syscall:
    mov   %cs, %eax
    test  $3, %al
    jz    1f
    int   $SYSCALL_VECTOR               /* arrives as vector 0x80, or as #UD on kvm_pvm */
    ret
1:  mov   %rdi, %rax                    /* already at CPL 0: a plain call */
    mov   %rsi, %rdi
    jmp   *%rax

/* CPL 0 through the DPL 3 gate 0x80 (or from the #UD stub, below), on the
 * RSP0 stack: RIP, CS, RFLAGS, RSP, SS of the caller above RSP. */
cpl3_syscall_entry:
    test  %rdi, %rdi
    jz    2f
    push  %rbp
    mov   %rsp, %rbp
    and   $-16, %rsp
    mov   %rdi, %rax
    mov   %rsi, %rdi
    call  *%rax
    mov   %rbp, %rsp
    pop   %rbp
    iretq
2:  mov   cpl3_kernel_rsp(%rip), %rsp   /* leave CPL 3: cpl3_run returns RSI */
    mov   %rsi, %rax
    pop   %r15
    pop   %r14
    pop   %r13
    pop   %r12
    pop   %rbp
    pop   %rbx
    ret

/* One 16-byte stub per exception vector: the same frame for all (error
 * code 0 where the CPU pushes none), then the vector. */
    .balign 16
    .globl cpl3_exception_stubs
cpl3_exception_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .balign 16
    .if (\v == 8) || (\v >= 10 && \v <= 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
    .else
    pushq $0
    .endif
    pushq $\v
    jmp   cpl3_fault_common
    .endr

    .balign 16
    .globl cpl3_syscall_gate
cpl3_syscall_gate:
    jmp   cpl3_syscall_entry

/* #UD at an `int $0x80` from CPL 3 is a system call (kvm_pvm turns INT n
 * from CPL 3 into #UD at the instruction): step over it and enter. */
cpl3_fault_common:
    cmpq  $6, (%rsp)
    jne   4f
    testb $3, 24(%rsp)                  /* CS: from CPL 3? */
    jz    4f
    push  %rax
    mov   24(%rsp), %rax                /* RIP: the instruction (user pages are readable) */
    cmpw  $(0x80 << 8 | 0xcd), (%rax)
    pop   %rax
    jne   4f
    addq  $2, 16(%rsp)                  /* resume after the INT */
    add   $16, %rsp                     /* drop vector and error code */
    jmp   cpl3_syscall_entry
4:  mov   %rsp, %rdi                    /* struct cpl3_fault * */
    and   $-16, %rsp
    mov   cpl3_on_fault(%rip), %rax
    test  %rax, %rax
    jz    3f
    call  *%rax
3:  hlt
    jmp   3b

    .data
    .balign 8
    .globl cpl3_tss, cpl3_on_fault
cpl3_kernel_rsp: .quad 0
cpl3_tss:        .quad 0
cpl3_on_fault:   .quad 0

    .section .note.GNU-stack, "", @progbits   /* no executable stack */
