/*
 * multiboot: the Multiboot v1 header and the kernel's entry point.
 *
 * The header (in .multiboot, which multiboot.ld puts first, well inside the
 * first 8 KiB of the file) asks for page-aligned modules (flag bit 0) and
 * memory information (bit 1); with an ELF kernel no address fields are
 * needed. A Multiboot loader enters _start in 32-bit protected mode with
 * EAX = 0x2BADB002 and EBX = the physical address of the info structure,
 * and promises no stack: _start sets up its own before calling
 * kmain(magic, info), which ends the VM through debug-exit.
 */
#define MULTIBOOT_HEADER_MAGIC 0x1BADB002
#define MULTIBOOT_HEADER_FLAGS 0x00000003

    .section .multiboot, "a"
    .align 4
    .long MULTIBOOT_HEADER_MAGIC
    .long MULTIBOOT_HEADER_FLAGS
    .long -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_HEADER_FLAGS)

    .code32
    .text
    .globl _start
_start:
    cli
    cld
    movl $stack_top, %esp   /* EAX and EBX are left untouched */
    pushl %ebx              /* kmain(magic, info) */
    pushl %eax
    call kmain
1:  hlt
    jmp 1b

    .section .bss
    .align 16
stack_bottom:
    .skip 16384
stack_top:

    .section .note.GNU-stack, "", @progbits   /* no executable stack */
