/*
 * cpuid-brand: the chapter-2 CPUID experiment of seed 003 ("伪造虚拟机 CPUID
 * 信息"), which patched KVM's kvm_cpuid() to fake the model name. Here the
 * machine file sets it ([cpu.cpuid] brand = "...") and the guest reads it.
 *
 * One vCPU in long mode. It executes CPUID 0x80000000 (the highest
 * extended leaf), then 0x80000002-0x80000004 (the 48-byte brand string, up
 * to its first NUL), and CPUID 0x40000000 (the hypervisor leaf: highest
 * hypervisor leaf in EAX, a 12-byte signature in EBX, ECX, EDX), and
 * prints on COM1:
 *
 *   max extended leaf: 0x80000008
 *   brand: Introspection Virtual CPU @ 3.14GHz
 *   hypervisor leaf 0x40000000: max 0x40000001, signature "VMMintrospec"
 *
 * Without a brand in the machine file the guest shows what KVM passes
 * through: the host's brand (empty on the nested machine the tests ran
 * on) and KVM's signature "KVMKVMKVM". cpuid-brand.toml overrides both.
 */
#include <stdint.h>

#include "console.h"
#include "format.h"

struct regs4 {
    uint32_t eax, ebx, ecx, edx;
};

static struct regs4 cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct regs4 r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

static void put_register_chars(char *out, uint32_t value)
{
    for (int i = 0; i < 4; ++i)
        out[i] = (char)(value >> (8 * i));
}

static void puts_line(const char *label, const char *text)
{
    uart_puts(UART_COM1, label);
    uart_puts(UART_COM1, text);
    uart_putc(UART_COM1, '\n');
}

void intro_main(uint64_t index)
{
    char text[FMT_BUFFER_SIZE];
    char brand[49];

    if (index != 0)
        return;

    const struct regs4 max = cpuid(0x80000000u, 0);
    fmt_hex(text, max.eax, 8);
    puts_line("max extended leaf: ", text);

    if (max.eax >= 0x80000004u) {
        for (uint32_t i = 0; i < 3; ++i) {
            const struct regs4 r = cpuid(0x80000002u + i, 0);
            put_register_chars(brand + 16 * i, r.eax);
            put_register_chars(brand + 16 * i + 4, r.ebx);
            put_register_chars(brand + 16 * i + 8, r.ecx);
            put_register_chars(brand + 16 * i + 12, r.edx);
        }
        brand[48] = '\0';
        puts_line("brand: ", brand);
    } else {
        puts_line("brand: ", "(none: leaf 0x80000004 is not implemented)");
    }

    const struct regs4 hv = cpuid(0x40000000u, 0);
    char signature[13];
    put_register_chars(signature, hv.ebx);
    put_register_chars(signature + 4, hv.ecx);
    put_register_chars(signature + 8, hv.edx);
    signature[12] = '\0';
    fmt_hex(text, hv.eax, 8);
    uart_puts(UART_COM1, "hypervisor leaf 0x40000000: max ");
    uart_puts(UART_COM1, text);
    uart_puts(UART_COM1, ", signature \"");
    uart_puts(UART_COM1, signature);
    uart_puts(UART_COM1, "\"\n");
}
