/*
 * fw-cfg: a multiboot kernel that checks QEMU's fw_cfg device (plugins/fw-cfg,
 * QEMU docs/specs/fw_cfg.rst) against what the machine told it otherwise.
 *
 * Through the data port (selector 0x510, data 0x511): the signature "QEMU",
 * the ID with the DMA bit, RAM_SIZE against the multiboot memory sizes,
 * NB_CPUS and MAX_CPUS (stored at 0x500/0x502 for the machine file's checks,
 * which know the vCPU count), the file directory, and the file
 * "opt/vmm/greeting" found by name. Through DMA (0x514): the file
 * "opt/vmm/host-file" (printed, for the test to compare with the host file),
 * the command line against the multiboot one, the kernel's first bytes
 * against memory at KERNEL_ADDR, INITRD_ADDR/SIZE against the module; then
 * DMA to addresses outside RAM and wrapping around the address space, which
 * must come back with the error bit, and a descriptor outside RAM.
 *
 * Each check prints "ok <what>" or "FAIL <what>" on COM1; the VM ends
 * through debug-exit (0xf4) with the number of failures.
 */
#include <stdint.h>

#include "console.h"
#include "format.h"
#include "io.h"

#define FW_CFG_SELECTOR 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_DMA_HIGH 0x514
#define FW_CFG_DMA_LOW 0x518
#define DEBUG_EXIT_PORT 0xf4

#define KEY_SIGNATURE 0x00
#define KEY_ID 0x01
#define KEY_RAM_SIZE 0x03
#define KEY_NB_CPUS 0x05
#define KEY_KERNEL_ADDR 0x07
#define KEY_KERNEL_SIZE 0x08
#define KEY_INITRD_ADDR 0x0a
#define KEY_INITRD_SIZE 0x0b
#define KEY_MAX_CPUS 0x0f
#define KEY_KERNEL_DATA 0x11
#define KEY_CMDLINE_SIZE 0x14
#define KEY_CMDLINE_DATA 0x15
#define KEY_FILE_DIR 0x19

#define DMA_ERROR 0x01
#define DMA_READ 0x02
#define DMA_SELECT 0x08

struct multiboot_module {
    uint32_t start, end, cmdline, reserved;
};
struct multiboot_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
};

struct dma_descriptor {
    uint32_t control, length; /* big-endian */
    uint64_t address;         /* big-endian */
} __attribute__((packed, aligned(16)));

static volatile struct dma_descriptor descriptor;
static uint8_t buffer[256];
static uint32_t failures;

static uint32_t bswap32(uint32_t v) { return __builtin_bswap32(v); }

static void check(int ok, const char *what)
{
    uart_puts(UART_COM1, ok ? "ok " : "FAIL ");
    uart_puts(UART_COM1, what);
    uart_putc(UART_COM1, '\n');
    failures += ok ? 0 : 1;
}

static void select_key(uint16_t key) { outw(key, FW_CFG_SELECTOR); }

static void read_data(void *out, uint32_t size)
{
    uint8_t *bytes = out;
    for (uint32_t i = 0; i < size; ++i)
        bytes[i] = inb(FW_CFG_DATA);
}

static uint32_t read_le(uint16_t key, uint32_t size)
{
    uint8_t bytes[4] = {0, 0, 0, 0};
    select_key(key);
    read_data(bytes, size);
    return bytes[0] | bytes[1] << 8 | bytes[2] << 16 | (uint32_t)bytes[3] << 24;
}

static int same(const void *a, const void *b, uint32_t size)
{
    const uint8_t *x = a, *y = b;
    for (uint32_t i = 0; i < size; ++i) {
        if (x[i] != y[i])
            return 0;
    }
    return 1;
}

/* Starts DMA with the descriptor at guest-physical `at`. */
static void dma_start(uint64_t at)
{
    outl(bswap32((uint32_t)(at >> 32)), FW_CFG_DMA_HIGH);
    outl(bswap32((uint32_t)at), FW_CFG_DMA_LOW);
}

/* One DMA transfer: select `key`, read `size` bytes to `address`. Returns
 * the control word the device wrote back. */
static uint32_t dma_read(uint16_t key, uint64_t address, uint32_t size)
{
    descriptor.control = bswap32((uint32_t)key << 16 | DMA_SELECT | DMA_READ);
    descriptor.length = bswap32(size);
    descriptor.address = (uint64_t)bswap32((uint32_t)address) << 32 | bswap32((uint32_t)(address >> 32));
    dma_start((uint32_t)(uintptr_t)&descriptor);
    return bswap32(descriptor.control);
}

/* The selector of file `name` from the directory, or 0. */
static uint16_t find_file(const char *name, uint32_t *size)
{
    uint8_t count_be[4];
    select_key(KEY_FILE_DIR);
    read_data(count_be, 4);
    const uint32_t count = (uint32_t)count_be[0] << 24 | count_be[1] << 16 | count_be[2] << 8 | count_be[3];
    for (uint32_t i = 0; i < count; ++i) {
        uint8_t entry[64];
        read_data(entry, 64);
        if (same(entry + 8, name, strlen(name) + 1)) {
            *size = (uint32_t)entry[0] << 24 | entry[1] << 16 | entry[2] << 8 | entry[3];
            return (uint16_t)(entry[4] << 8 | entry[5]);
        }
    }
    return 0;
}

void kmain(uint32_t magic, const struct multiboot_info *info)
{
    char signature[5] = {0, 0, 0, 0, 0};
    select_key(KEY_SIGNATURE);
    read_data(signature, 4);
    check(same(signature, "QEMU", 4), "signature QEMU");
    check(read_le(KEY_ID, 4) == 3, "ID: traditional interface and DMA");
    check(magic == 0x2BADB002u, "multiboot magic");

    uint8_t ram[8];
    select_key(KEY_RAM_SIZE);
    read_data(ram, 8);
    const uint32_t ram_low = ram[0] | ram[1] << 8 | ram[2] << 16 | (uint32_t)ram[3] << 24;
    check(ram_low == (info->mem_upper + 1024) * 1024, "RAM_SIZE matches the multiboot memory size");
    volatile uint16_t *results = (volatile uint16_t *)0x500;
    __asm__("" : "+r"(results)); /* an address, not an array gcc could bound */
    results[0] = (uint16_t)read_le(KEY_NB_CPUS, 2);
    results[1] = (uint16_t)read_le(KEY_MAX_CPUS, 2);

    uint32_t size = 0;
    uint16_t key = find_file("opt/vmm/greeting", &size);
    check(key >= 0x20 && size == 17, "opt/vmm/greeting in the directory");
    select_key(key);
    read_data(buffer, size);
    check(same(buffer, "hello from fw_cfg", 17), "opt/vmm/greeting read through the data port");

    key = find_file("opt/vmm/host-file", &size);
    check(key >= 0x20 && size > 0 && size < sizeof buffer, "opt/vmm/host-file in the directory");
    if (key >= 0x20 && size < sizeof buffer) {
        check(dma_read(key, (uint32_t)(uintptr_t)buffer, size) == 0, "DMA read of opt/vmm/host-file");
        buffer[size] = 0;
        uart_puts(UART_COM1, "host-file: ");
        uart_puts(UART_COM1, (const char *)buffer);
    }

    const uint32_t cmdline_size = read_le(KEY_CMDLINE_SIZE, 4);
    const char *cmdline = (const char *)(uintptr_t)info->cmdline;
    check(cmdline_size == strlen(cmdline) + 1, "CMDLINE_SIZE");
    check(cmdline_size <= sizeof buffer && dma_read(KEY_CMDLINE_DATA, (uint32_t)(uintptr_t)buffer, cmdline_size) == 0 &&
              same(buffer, cmdline, cmdline_size),
          "CMDLINE_DATA by DMA matches the multiboot command line");

    const uint32_t kernel = read_le(KEY_KERNEL_ADDR, 4);
    check(kernel == 0x100000 && read_le(KEY_KERNEL_SIZE, 4) > 64, "KERNEL_ADDR and KERNEL_SIZE");
    check(dma_read(KEY_KERNEL_DATA, (uint32_t)(uintptr_t)buffer, 64) == 0 &&
              same(buffer, (const void *)(uintptr_t)kernel, 64),
          "KERNEL_DATA by DMA matches the kernel in memory");

    const struct multiboot_module *module = (const struct multiboot_module *)(uintptr_t)info->mods_addr;
    check(info->mods_count == 1 && read_le(KEY_INITRD_ADDR, 4) == module->start &&
              read_le(KEY_INITRD_SIZE, 4) == module->end - module->start,
          "INITRD_ADDR and INITRD_SIZE match the multiboot module");

    buffer[0] = 0x5a;
    check(dma_read(KEY_SIGNATURE, 0xfff00000u, 4) & DMA_ERROR, "DMA outside RAM gets the error bit");
    check(dma_read(KEY_SIGNATURE, 0xfffffffcu, 0x10) & DMA_ERROR, "DMA running past 4 GiB gets the error bit");
    check(dma_read(KEY_SIGNATURE, 0xfffffffffffffff0ull, 0x20) & DMA_ERROR,
          "DMA wrapping around the 64-bit address space gets the error bit");
    check(buffer[0] == 0x5a, "RAM untouched by the refused DMA");
    /* A descriptor outside RAM: nowhere to report to; the VMM logs it, and
     * the guest goes on. */
    dma_start(0x123456789abcull);

    uart_puts(UART_COM1, failures == 0 ? "fw_cfg: all checks passed\n" : "fw_cfg: some checks FAILED\n");
    outl(failures, DEBUG_EXIT_PORT);
}
