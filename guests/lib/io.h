/*
 * io.h - x86 port I/O for guests: inb/inw/inl and outb/outw/outl.
 *
 * Header-only (static inline asm), usable from 32-bit and 64-bit guest code.
 * Each call is exactly one IN or OUT instruction, i.e. one VM exit that the
 * VMM routes to the device owning the port. Arguments follow Linux's order:
 * outb(value, port). The asm statements clobber "memory" so the compiler
 * does not move guest-memory accesses across a device access.
 */
#ifndef GUEST_LIB_IO_H
#define GUEST_LIB_IO_H

#include <stdint.h>

static inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t value;
    __asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t value;
    __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

static inline void outb(uint8_t value, uint16_t port)
{
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline void outw(uint16_t value, uint16_t port)
{
    __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline void outl(uint32_t value, uint16_t port)
{
    __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

#endif /* GUEST_LIB_IO_H */
