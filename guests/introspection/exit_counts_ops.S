/*
 * The accesses of the exit-counts guest, in assembly so that each one is
 * exactly one instruction, one VM exit, at a labelled address (the tests
 * read the labels from the ELF's symbol table).
 *
 * ops_vcpu0 - 9 port exits and 7 MMIO exits:
 *   port 0x600: 3 x OUT byte (0x11, 0x22, 0x33)    ec_out_600_a/_b/_c
 *   port 0x601: 1 x IN byte                          ec_in_601
 *   port 0x602: 2 x OUT word (0xbeef)                ec_outw_602_a/_b
 *   port 0x700: 2 x OUT byte, 1 x IN byte (nobody's) ec_out_700_a/_b, ec_in_700
 *   mmio 0xd0000000: 2 x write dword (0x12345678)    ec_mmio_write_a/_b
 *   mmio 0xd0000008: 1 x write qword                 ec_mmio_write_q
 *   mmio 0xd0000010: 2 x read dword                  ec_mmio_read_a/_b
 *   mmio 0xe0000000: 1 x read byte, 1 x write byte (nobody's)
 *                                                    ec_mmio_unhandled_read/_write
 * ops_vcpu1 - 4 port exits and 1 MMIO exit:
 *   port 0x603: 4 x OUT byte (4, 3, 2, 1), one instruction in a loop: ec_out_603
 *   mmio 0xd0000100: 1 x write word (0xcafe)         ec_mmio_write_v1
 *
 * MMIO addresses are loaded into a register first: a 32-bit absolute
 * displacement would be sign-extended to 0xffffffffd0000000 in long mode.
 */
    .code64
    .text

    .globl ops_vcpu0
ops_vcpu0:
    push   %rbx
    mov    $0x600, %edx
    mov    $0x11, %eax
    .globl ec_out_600_a
ec_out_600_a:
    outb   %al, %dx
    mov    $0x22, %eax
    .globl ec_out_600_b
ec_out_600_b:
    outb   %al, %dx
    mov    $0x33, %eax
    .globl ec_out_600_c
ec_out_600_c:
    outb   %al, %dx
    mov    $0x601, %edx
    .globl ec_in_601
ec_in_601:
    inb    %dx, %al
    mov    $0x602, %edx
    mov    $0xbeef, %eax
    .globl ec_outw_602_a
ec_outw_602_a:
    outw   %ax, %dx
    .globl ec_outw_602_b
ec_outw_602_b:
    outw   %ax, %dx
    mov    $0x700, %edx
    .globl ec_out_700_a
ec_out_700_a:
    outb   %al, %dx
    .globl ec_out_700_b
ec_out_700_b:
    outb   %al, %dx
    .globl ec_in_700
ec_in_700:
    inb    %dx, %al

    mov    $0xd0000000, %ebx            /* zero-extended into RBX */
    mov    $0x12345678, %eax
    .globl ec_mmio_write_a
ec_mmio_write_a:
    movl   %eax, (%rbx)
    .globl ec_mmio_write_b
ec_mmio_write_b:
    movl   %eax, (%rbx)
    movabs $0x1122334455667788, %rax
    .globl ec_mmio_write_q
ec_mmio_write_q:
    movq   %rax, 8(%rbx)
    .globl ec_mmio_read_a
ec_mmio_read_a:
    movl   0x10(%rbx), %eax
    .globl ec_mmio_read_b
ec_mmio_read_b:
    movl   0x10(%rbx), %eax
    mov    $0xe0000000, %ebx
    .globl ec_mmio_unhandled_read
ec_mmio_unhandled_read:
    movb   (%rbx), %al
    .globl ec_mmio_unhandled_write
ec_mmio_unhandled_write:
    movb   %al, (%rbx)
    .globl ec_ops_vcpu0_end
ec_ops_vcpu0_end:
    pop    %rbx
    ret

    .globl ops_vcpu1
ops_vcpu1:
    push   %rbx
    mov    $0x603, %edx
    mov    $4, %ecx
1:  mov    %cl, %al
    .globl ec_out_603
ec_out_603:
    outb   %al, %dx
    dec    %ecx
    jnz    1b
    mov    $0xd0000100, %ebx
    mov    $0xcafe, %eax
    .globl ec_mmio_write_v1
ec_mmio_write_v1:
    movw   %ax, (%rbx)
    .globl ec_ops_vcpu1_end
ec_ops_vcpu1_end:
    pop    %rbx
    ret

    .section .note.GNU-stack, "", @progbits
