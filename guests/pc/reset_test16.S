/*
 * pc-reset-92 / pc-reset-64: a real-mode guest checks the pc-misc ports
 * (plugins/pc-misc) and then resets the machine, through port 0x92's fast
 * reset bit or, built with -DKBC_RESET, the keyboard controller's command
 * 0xfe at port 0x64 (machines pc-reset-92.toml, pc-reset-64.toml). vmm ends
 * the VM with pc-misc's reset status (4).
 *
 * Before the reset: port 0x80 swallows a write and reads 0xff, port 0x92
 * reads 0x02 (A20 on) and keeps a written A20 bit, port 0x64's status has
 * the input buffer empty. A failed check writes 5 to debug-exit (status 11
 * in QEMU's encoding); a reset that does nothing writes 6 (status 13).
 */
#define DEBUG_EXIT 0xf4

    .code16
    .text
    .globl _start
_start:
    cli
    movb $0x42, %al
    outb %al, $0x80                 /* a POST code: swallowed */
    inb $0x80, %al
    cmpb $0xff, %al
    jne fail
    inb $0x92, %al
    cmpb $0x02, %al                 /* A20 on, no reset */
    jne fail
    xorb %al, %al
    outb %al, $0x92                 /* A20 off: kept */
    inb $0x92, %al
    testb %al, %al
    jne fail
    movb $0x02, %al
    outb %al, $0x92
    inb $0x64, %al
    testb $0x02, %al                /* input buffer empty: a command may go */
    jnz fail
#ifdef KBC_RESET
    movb $0xfe, %al
    outb %al, $0x64
#else
    movb $0x03, %al                 /* A20 on, fast reset */
    outb %al, $0x92
#endif
    movb $6, %al                    /* still here: the reset did nothing */
    outb %al, $DEBUG_EXIT
    jmp halt
fail:
    movb $5, %al
    outb %al, $DEBUG_EXIT
halt:
    hlt
    jmp halt
