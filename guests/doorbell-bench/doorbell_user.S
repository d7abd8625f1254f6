/*
 * doorbell-user: writes the irq-test device's RING register RBX times from
 * CPL 3, then reads the ring count back (tests/bench/doorbell_bench.cpp,
 * tests/e2e/test_interrupts.cpp).
 *
 * Why CPL 3: on this project's host (KVM nested on kvm_pvm, README "Notes
 * on this machine"), guest code at CPL 0 goes through KVM's instruction
 * emulator, while CPL 3 code runs natively. The intent was a loop of OUTs
 * whose cost is only their exits: absorbed in the kernel by the ioeventfd
 * (doorbell = true) or taken to userspace (doorbell = false). On this host
 * the OUT itself still goes through the emulator at CPL 3, at a higher
 * cost (below), so the benchmark runs the loop at CPL 0 too (RSI = 1).
 *
 * So the guest, entered in long mode at 0x1000 by the VMM:
 *  1. builds page tables whose one 2 MiB page (all of RAM) has U/S set:
 *     the VMM's tables are supervisor-only;
 *  2. loads its own GDT (kernel code/data, user data/code with DPL 3, a
 *     TSS) and reloads every segment from it;
 *  3. sets up SYSCALL (EFER.SCE, STAR, LSTAR = `report`);
 *  4. iretq's to `user` at CPL 3 with RFLAGS.IOPL = 3 (or, with RSI = 1,
 *     jumps there at CPL 0: the benchmark's comparison);
 *  5. at CPL 3: RBX 4-byte writes to RING (port 0x50c), then reads RING
 *     until it counts them all (doorbell rings reach the device later, on
 *     the VMM's event loop) or ~1e10 TSC ticks passed;
 *  6. SYSCALL back to CPL 0, where `report` stores the count at 0x400 and
 *     the writes at 0x404, and writes 0 (count == writes) or 1 to
 *     debug-exit (port 0xf4).
 *
 * Two things this host does differently from hardware, found by trying:
 *  - RFLAGS.IOPL = 3 does not survive the IRETQ (PUSHF at CPL 3 reads
 *    0x202: IOPL 0, IF 1), so IN/OUT at CPL 3 are allowed by the TSS's I/O
 *    permission bitmap instead (all zeros: every port up to 0x7ff). The
 *    price: each OUT at CPL 3 faults and is checked against the bitmap in
 *    KVM's emulator, several times what a loop turn at CPL 0 costs (README,
 *    "Benchmarks");
 *  - `int $0x80` from CPL 3 raises #UD (not gate 0x80), which with no
 *    IDT ends in a triple fault, so the way back is SYSCALL. Found later
 *    (docs/user-mode.md): SYSCALL here jumps to `report` but stays at
 *    CPL 3; `report` needs nothing privileged (its memory store and OUT
 *    work at CPL 3), so the guest works either way. Exceptions from CPL 3
 *    are delivered normally given an IDT and RSP0 (guests/lib/cpl3.h).
 */
#define RING_PORT 0x50c
#define DEBUG_EXIT_PORT 0xf4
#define PML4 0x70000            /* page tables: three pages, past the image */
#define USER_STACK 0x80000
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS (0x18 | 3)
#define USER_CS (0x20 | 3)
#define TSS_SELECTOR 0x28
#define WAIT_TICKS 10000000000
#define IO_BITMAP_BYTES 0x100
#define TSS_BYTES (104 + IO_BITMAP_BYTES + 1)
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define EFER_SCE 1

    .code64
    .text
    .globl _start
_start:
    cli
    mov   %rbx, %r12                    /* the writes; survives the trip to CPL 3 */

    /* 1. PML4[0] -> PDPT[0] -> PD[0]: a 2 MiB page at 0, present, writable, user. */
    movq  $(PML4 + 0x1000 + 7), PML4
    movq  $(PML4 + 0x2000 + 7), PML4 + 0x1000
    movq  $0x87, PML4 + 0x2000
    mov   $PML4, %eax
    mov   %rax, %cr3

    /* 2. The TSS descriptor (base < 16 MiB, so one shift places it), the GDT. */
    lea   tss(%rip), %rax
    shl   $16, %rax
    or    $(TSS_BYTES - 1), %rax        /* limit */
    mov   $0x89, %rdx                   /* present, available 64-bit TSS */
    shl   $40, %rdx
    or    %rdx, %rax
    mov   %rax, gdt + TSS_SELECTOR(%rip)
    lgdt  gdtr(%rip)
    pushq $KERNEL_CS                    /* reload CS from the new GDT */
    lea   1f(%rip), %rax
    pushq %rax
    lretq
1:  mov   $KERNEL_DS, %ax
    mov   %ax, %ds
    mov   %ax, %es
    mov   %ax, %ss
    mov   %ax, %fs
    mov   %ax, %gs
    mov   $TSS_SELECTOR, %ax
    ltr   %ax

    /* 3. SYSCALL enters `report` with CS = KERNEL_CS (STAR[47:32]). */
    mov   $MSR_EFER, %ecx
    rdmsr
    or    $EFER_SCE, %eax
    wrmsr
    mov   $MSR_STAR, %ecx
    xor   %eax, %eax
    mov   $KERNEL_CS, %edx
    wrmsr
    mov   $MSR_LSTAR, %ecx
    lea   report(%rip), %rax
    xor   %edx, %edx
    wrmsr

    /* 4. To CPL 3: SS, RSP, RFLAGS (IOPL 3, interrupts off), CS, RIP.
     *    RSI = 1 stays at CPL 0 instead, for comparison. */
    cmp   $1, %rsi
    je    user
    pushq $USER_DS
    pushq $USER_STACK
    pushq $0x3002
    pushq $USER_CS
    lea   user(%rip), %rax
    pushq %rax
    iretq

    /* 5. CPL 3. */
user:
    mov   %r12, %rcx
    mov   $RING_PORT, %edx
    xor   %eax, %eax
    test  %rcx, %rcx
    jz    2f
1:  outl  %eax, %dx
    dec   %rcx
    jnz   1b
2:  rdtsc
    shl   $32, %rdx
    or    %rax, %rdx
    mov   %rdx, %r13                    /* start of the wait */
    mov   $WAIT_TICKS, %r14
3:  mov   $RING_PORT, %edx
    inl   %dx, %eax
    mov   %eax, %ebx
    cmp   %r12, %rbx
    jae   4f
    pause
    rdtsc
    shl   $32, %rdx
    or    %rax, %rdx
    sub   %r13, %rdx
    cmp   %r14, %rdx
    jb    3b
4:  mov   %cs, %eax
    test  $3, %al
    jz    report                        /* already at CPL 0 (RSI = 1) */
    syscall                             /* 6. back to CPL 0, the count in EBX */
    ud2

    /* 6. CPL 0 (SYSCALL: RCX = user RIP, R11 = user RFLAGS; no stack switch). */
report:
    mov   %ebx, 0x400
    mov   %r12d, 0x404
    xor   %eax, %eax
    cmp   %r12, %rbx
    setne %al
    outl  %eax, $DEBUG_EXIT_PORT
5:  hlt
    jmp   5b

    .balign 16
gdt:
    .quad 0
    .quad 0x00af9a000000ffff            /* 0x08 kernel code, 64-bit */
    .quad 0x00cf92000000ffff            /* 0x10 kernel data */
    .quad 0x00cff2000000ffff            /* 0x18 user data, DPL 3 */
    .quad 0x00affa000000ffff            /* 0x20 user code, 64-bit, DPL 3 */
    .quad 0, 0                          /* 0x28 TSS, filled in above */
gdt_end:
gdtr:
    .word gdt_end - gdt - 1
    .quad gdt

    .balign 16
tss:
    .fill 102, 1, 0                     /* no RSP0: nothing enters CPL 0 through it */
    .word 104                           /* I/O map base */
    .fill IO_BITMAP_BYTES, 1, 0         /* ports 0..0x7ff allowed at CPL 3 */
    .byte 0xff                          /* the bitmap's required last byte */

    .section .note.GNU-stack, "", @progbits   /* no executable stack */
