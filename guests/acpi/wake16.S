/*
 * The S3 guest's waking code (s3.c): 16-bit real mode, entered by the VMM
 * at the FACS firmware waking vector with CS = vector >> 4, IP = vector &
 * 0xf, as ACPI says. Only relative jumps and calls (CS's base is the
 * vector rounded down to 16 bytes, not 0); data by absolute address with
 * DS = 0 (everything here lies below 64 KiB).
 *
 * It proves three things and says so on COM1: it runs (at the vector),
 * RAM survived the sleep (s3_marker, written before sleeping), and PM1_STS
 * has WAK_STS set. Then it ends through debug-exit: 0 if all held, else 4.
 */
    .code16
    .section .text.wake16, "ax"
    .globl wake16
    .balign 16
wake16:
    cli
    xor  %ax, %ax
    mov  %ax, %ds
    mov  %ax, %ss
    mov  $0x7000, %sp
    mov  $msg_woke, %si
    call puts16
    cmpl $0x53335f31, s3_marker     /* "1_3S": written by s3.c before it slept */
    jne  bad_ram
    mov  s3_pm1_event, %dx
    in   %dx, %ax
    test $0x8000, %ax               /* WAK_STS */
    jz   bad_wak
    mov  $msg_ok, %si
    call puts16
    mov  $0, %al
    out  %al, $0xf4
1:  hlt
    jmp  1b
bad_ram:
    mov  $msg_bad_ram, %si
    jmp  fail
bad_wak:
    mov  $msg_bad_wak, %si
fail:
    call puts16
    mov  $4, %al
    out  %al, $0xf4
    jmp  1b

/* Prints the NUL-terminated string at DS:SI on COM1, polling THRE. */
puts16:
    lodsb
    test %al, %al
    jz   3f
    mov  %al, %bl
    mov  $0x3fd, %dx
2:  in   %dx, %al
    test $0x20, %al
    jz   2b
    mov  $0x3f8, %dx
    mov  %bl, %al
    out  %al, %dx
    jmp  puts16
3:  ret

msg_woke:    .asciz "s3: resumed in real mode at the waking vector\n"
msg_ok:      .asciz "s3: RAM kept, WAK_STS set: ok\n"
msg_bad_ram: .asciz "s3: FAILED: RAM changed across the sleep\n"
msg_bad_wak: .asciz "s3: FAILED: WAK_STS is clear after the wake\n"

    .section .note.GNU-stack, "", @progbits
