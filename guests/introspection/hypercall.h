/*
 * hypercall.h - the guest's side of the `hypercall` plugin's doorbell.
 *
 * The call number goes in RAX and the arguments in RBX, RCX, RSI, RDI; one
 * byte written to the doorbell port (default 0x510, so the port is in DX
 * and RDX cannot be an argument) makes the VMM handle the call before the
 * guest goes on; the result is then in RAX. Header-only, 64-bit guests.
 */
#ifndef GUEST_INTROSPECTION_HYPERCALL_H
#define GUEST_INTROSPECTION_HYPERCALL_H

#include <stdint.h>

#define HYPERCALL_PORT 0x510
#define HC_VCPU_INFO 1
#define HC_ENOSYS (-38)

static inline int64_t hypercall1(uint64_t number, uint64_t arg0)
{
    uint64_t result = number;
    __asm__ volatile("outb %%al, %%dx" : "+a"(result) : "b"(arg0), "d"((uint16_t)HYPERCALL_PORT) : "memory");
    return (int64_t)result;
}

/* vcpu_info(vcpu): the VMM logs that vCPU's host thread, exit count and
 * registers. 0, or -1 for a vCPU that does not exist. */
static inline int64_t vcpu_info(uint64_t vcpu)
{
    return hypercall1(HC_VCPU_INFO, vcpu);
}

#endif /* GUEST_INTROSPECTION_HYPERCALL_H */
