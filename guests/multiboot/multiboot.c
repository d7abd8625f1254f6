/*
 * multiboot: a minimal Multiboot v1 kernel (32-bit ELF at 1 MiB).
 *
 * It checks that it was entered with EAX = 0x2BADB002, then prints on COM1
 *     cmdline: <the command line>
 *     mem_lower: N KiB, mem_upper: M KiB
 * from the info structure EBX points at, and writes to debug-exit (port
 * 0xf4): 0 if the magic was right and the info flags had bits 0 (memory
 * sizes) and 2 (command line), else 1. A field whose flag bit is clear is
 * printed as "(not given)"; with a wrong magic EBX is not trusted at all.
 *
 * What it proves: the VMM's multiboot loader places the kernel from its
 * ELF program headers, enters it in protected mode the way the Multiboot
 * specification (0.6.96, section 3.2) says, and passes the machine file's
 * command line and the memory sizes in a well-formed info structure.
 */
#include <stdint.h>

#include "console.h"
#include "format.h"
#include "io.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_INFO_MEMORY (1u << 0)   /* mem_lower, mem_upper */
#define MULTIBOOT_INFO_CMDLINE (1u << 2)
#define DEBUG_EXIT_PORT 0xf4

/* The start of the Multiboot v1 information structure (section 3.3). */
struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower;    /* KiB of memory from 0 (at most 640) */
    uint32_t mem_upper;    /* KiB of memory from 1 MiB */
    uint32_t boot_device;
    uint32_t cmdline;      /* physical address of a NUL-terminated string */
    uint32_t mods_count;
    uint32_t mods_addr;
};

static void print(const char *s)
{
    uart_puts(UART_COM1, s);
}

static void print_dec(uint32_t value)
{
    char digits[FMT_BUFFER_SIZE];
    fmt_dec(digits, value);
    print(digits);
}

void kmain(uint32_t magic, const struct multiboot_info *info)
{
    uint32_t status = 1;

    if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
        char hex[FMT_BUFFER_SIZE];
        fmt_hex(hex, magic, 8);
        print("bad magic in EAX: ");
        print(hex);
        print("\n");
    } else {
        /* Where the loader put the structure: low memory (0x9000 from vmm,
         * as from QEMU), never right after the kernel. */
        char where[FMT_BUFFER_SIZE];
        fmt_hex(where, (uint32_t)(uintptr_t)info, 8);
        print("info at ");
        print(where);
        print("\n");
        if (info->flags & MULTIBOOT_INFO_CMDLINE) {
            print("cmdline: ");
            print((const char *)(uintptr_t)info->cmdline);
            print("\n");
        } else {
            print("cmdline: (not given)\n");
        }
        if (info->flags & MULTIBOOT_INFO_MEMORY) {
            print("mem_lower: ");
            print_dec(info->mem_lower);
            print(" KiB, mem_upper: ");
            print_dec(info->mem_upper);
            print(" KiB\n");
        } else {
            print("mem_lower: (not given), mem_upper: (not given)\n");
        }
        const uint32_t needed = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE;
        status = (info->flags & needed) == needed ? 0 : 1;
    }
    outl(status, DEBUG_EXIT_PORT);
}
