/*
 * cpl3-demo: the guests/lib CPL 3 runtime (cpl3.h) end to end, entered by
 * the VMM in long mode (machine tests/machines/cpl3-demo.toml).
 *
 * At CPL 0 it says hello on port 0xE9 and sets up the runtime; at CPL 3 it
 * fills a buffer, copies it, checks the copy, makes one privileged call back
 * to CPL 0 through cpl3_syscall (reading CR3) and prints on port 0xE9
 * (allowed at CPL 3 by the TSS's I/O bitmap); back at CPL 0 it ends the VM
 * through debug-exit (port 0xf4) with 0 when every check passed.
 *
 * main's argument (RBX) is the number of bytes to copy (at most
 * BUFFER_BYTES); FAULT_ARG instead executes UD2 at CPL 3, which the
 * runtime delivers to on_fault at CPL 0: it prints the vector and RIP and
 * exits with 0x40 + the vector.
 */
#include "console.h"
#include "cpl3.h"
#include "format.h"
#include "io.h"

#include <stdint.h>

#define DEBUG_EXIT_PORT 0xf4
#define RAM_BYTES (4u << 20)
#define BUFFER_BYTES (1u << 20)
#define FAULT_ARG 0xfa017u

static uint8_t area[CPL3_AREA_BYTES] __attribute__((aligned(4096)));
static uint8_t user_stack[16384] __attribute__((aligned(16)));
static uint8_t source[BUFFER_BYTES], destination[BUFFER_BYTES];

static void print_hex(const char *label, uint64_t value)
{
    char text[24];
    debugcon_puts(label);
    fmt_hex(text, value, 1);
    debugcon_puts(text);
    debugcon_puts("\n");
}

static void on_fault(const struct cpl3_fault *fault)
{
    print_hex("cpl3-demo: fault, vector ", fault->vector);
    print_hex("cpl3-demo: at rip ", fault->rip);
    print_hex("cpl3-demo: from cs ", fault->cs);
    outb((uint8_t)(0x40 + fault->vector), DEBUG_EXIT_PORT);
    for (;;)
        __asm__ volatile("hlt");
}

/* CPL 0, called from CPL 3: privileged work. */
static uint64_t read_cr3(uint64_t expected_cpl)
{
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    return cpl3_current_cpl() == expected_cpl ? cr3 : 0;
}

/* CPL 3. Returns the number of failed checks. */
static uint64_t copy_at_cpl3(uint64_t bytes)
{
    uint64_t failures = 0;
    if (cpl3_current_cpl() != 3)
        ++failures;
    if (bytes == FAULT_ARG)
        __asm__ volatile("ud2");
    for (uint64_t i = 0; i < bytes; ++i)
        source[i] = (uint8_t)(i * 7 + (i >> 8));
    memcpy(destination, source, bytes);
    for (uint64_t i = 0; i < bytes; ++i)
        failures += destination[i] != (uint8_t)(i * 7 + (i >> 8));
    const uint64_t cr3 = cpl3_syscall(read_cr3, 0);
    if (cr3 != (uint64_t)(uintptr_t)area)
        ++failures;
    if (cpl3_current_cpl() != 3)
        ++failures;
    debugcon_puts("cpl3-demo: copied at CPL 3\n");
    return failures;
}

int main(uint64_t bytes)
{
    debugcon_puts("cpl3-demo: set-up at CPL 0\n");
    if (bytes > BUFFER_BYTES && bytes != FAULT_ARG)
        bytes = BUFFER_BYTES;
    if (cpl3_init(area, RAM_BYTES, on_fault) != 0) {
        outb(0x20, DEBUG_EXIT_PORT);
        return 1;
    }
    const uint64_t failures = cpl3_run(copy_at_cpl3, bytes, user_stack + sizeof user_stack);
    print_hex("cpl3-demo: bytes ", bytes);
    print_hex("cpl3-demo: failures ", failures);
    if (cpl3_current_cpl() != 0)
        outb(0x21, DEBUG_EXIT_PORT);
    outb(failures == 0 ? 0 : 0x22, DEBUG_EXIT_PORT);
    return 0;
}
