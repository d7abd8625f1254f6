/*
 * MMIO and fixed-address memory access for guests: volatile loads and
 * stores of 8 to 64 bits at a guest-physical address (identity-mapped in
 * every mode the VMM sets up).
 *
 * The address goes through an empty asm first, so the compiler sees an
 * opaque pointer: GCC 12 otherwise takes a constant address below 4 KiB (a
 * result word at 0x400) for an offset from a null pointer and warns
 * -Warray-bounds (vmm_add_guest also passes --param=min-pagesize=0).
 */
#ifndef GUEST_MMIO_H
#define GUEST_MMIO_H

#include <stdint.h>

static inline volatile void *mmio_ptr(uintptr_t address)
{
    __asm__("" : "+r"(address));
    return (volatile void *)address;
}

static inline uint8_t mmio_read8(uintptr_t a) { return *(volatile uint8_t *)mmio_ptr(a); }
static inline uint16_t mmio_read16(uintptr_t a) { return *(volatile uint16_t *)mmio_ptr(a); }
static inline uint32_t mmio_read32(uintptr_t a) { return *(volatile uint32_t *)mmio_ptr(a); }
static inline void mmio_write8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)mmio_ptr(a) = v; }
static inline void mmio_write16(uintptr_t a, uint16_t v) { *(volatile uint16_t *)mmio_ptr(a) = v; }
static inline void mmio_write32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)mmio_ptr(a) = v; }
#if UINTPTR_MAX > 0xffffffffu
static inline uint64_t mmio_read64(uintptr_t a) { return *(volatile uint64_t *)mmio_ptr(a); }
static inline void mmio_write64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)mmio_ptr(a) = v; }
#endif

#endif
