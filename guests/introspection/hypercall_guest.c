/*
 * hypercall: the seed-002 vcpu_info homework, done with the `hypercall`
 * plugin instead of a patched KVM. Two vCPUs, no irqchip (machine
 * hypercall.toml).
 *
 * vCPU 1 puts recognisable values in its registers, writes port 0x600 five
 * times (a port-logger logs them), sets the flag `shared_vcpu1_done` and
 * halts (hypercall_vcpu1.S). vCPU 0 waits for the flag, lets vCPU 1 reach
 * its HLT, then calls vcpu_info(0), vcpu_info(1), vcpu_info(7) and the
 * unknown call 99 twice, before any other exit of its own (so vcpu_info(0)
 * reports exactly 1 exit: that call). The VMM logs one line per vcpu_info.
 * It then prints the results on port 0xE9 and reports through debug-exit:
 * 0 when every result was as expected (0, 0, -1, -38, -38), else a bit per
 * wrong result (1: vcpu_info(0), 2: vcpu_info(1), 4: vcpu_info(7),
 * 8 and 16: the unknown calls).
 */
#include <stdint.h>

#include "console.h"
#include "format.h"
#include "hypercall.h"
#include "io.h"
#include "spinlock.h"

#define DEBUG_EXIT_PORT 0xf4

__attribute__((section(".shared"), used)) volatile uint32_t shared_vcpu1_done = 0;

void vcpu1_work(void); /* hypercall_vcpu1.S; does not return */

static void print_result(const char *call, int64_t result)
{
    char digits[FMT_BUFFER_SIZE];
    debugcon_puts(call);
    debugcon_puts(" = ");
    if (result < 0) {
        debugcon_putc('-');
        fmt_dec(digits, (uint64_t)-result);
    } else {
        fmt_dec(digits, (uint64_t)result);
    }
    debugcon_puts(digits);
    debugcon_putc('\n');
}

void intro_main(uint64_t index)
{
    if (index == 1)
        vcpu1_work();
    if (index != 0)
        return;

    while (!shared_vcpu1_done)
        cpu_relax();
    /* vCPU 1 stores the flag one instruction before its HLT: give it time
     * to take that exit, so that its saved state is usually the HLT's (the
     * test accepts either). */
    for (int i = 0; i < 200000; ++i)
        cpu_relax();

    const int64_t self = vcpu_info(0);
    const int64_t other = vcpu_info(1);
    const int64_t missing = vcpu_info(7);
    const int64_t unknown1 = hypercall1(99, 0);
    const int64_t unknown2 = hypercall1(99, 1);

    print_result("vcpu_info(0)", self);
    print_result("vcpu_info(1)", other);
    print_result("vcpu_info(7)", missing);
    print_result("call 99", unknown1);
    print_result("call 99 again", unknown2);

    const uint32_t status = (self != 0 ? 1u : 0u) | (other != 0 ? 2u : 0u) | (missing != -1 ? 4u : 0u) |
                            (unknown1 != HC_ENOSYS ? 8u : 0u) | (unknown2 != HC_ENOSYS ? 16u : 0u);
    outb((uint8_t)status, DEBUG_EXIT_PORT);
}
