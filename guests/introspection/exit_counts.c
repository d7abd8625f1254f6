/*
 * exit-counts: a guest whose VM exits are known exactly, for the profiler
 * and tracer tests (machines exit-counts.toml and exit-counts-trace.toml).
 *
 * Two vCPUs in long mode, no irqchip. vCPU 0 runs ops_vcpu0 and vCPU 1
 * ops_vcpu1 (exit_counts_ops.S lists every access), then each halts:
 *
 *   vCPU 0: 9 IO + 7 MMIO + 1 HLT = 17 exits
 *   vCPU 1: 4 IO + 1 MMIO + 1 HLT =  6 exits
 *   total: 13 IO, 8 MMIO, 2 HLT = 23 exits
 *
 * Nothing else leaves the guest: no console output, no other device.
 */
#include <stdint.h>

void ops_vcpu0(void);
void ops_vcpu1(void);

void intro_main(uint64_t index)
{
    if (index == 0)
        ops_vcpu0();
    else if (index == 1)
        ops_vcpu1();
}
