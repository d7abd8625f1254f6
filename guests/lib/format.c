/*
 * format.c - see format.h.
 */
#include "format.h"

/* *value /= divisor, returning the remainder; divisor must be <= 16.
 * Long division in four 16-bit steps: each partial dividend is below
 * 16 << 16, so it fits in 32 bits and no libgcc helper is needed on i386. */
static uint32_t divide_small(uint64_t *value, uint32_t divisor)
{
    uint64_t quotient = 0;
    uint32_t remainder = 0;
    for (int shift = 48; shift >= 0; shift -= 16) {
        const uint32_t part = (remainder << 16) | (uint32_t)((*value >> shift) & 0xffff);
        quotient |= (uint64_t)(part / divisor) << shift;
        remainder = part % divisor;
    }
    *value = quotient;
    return remainder;
}

size_t fmt_unsigned(char *buf, uint64_t value, unsigned base, unsigned min_digits)
{
    static const char digits[] = "0123456789abcdef";
    char reversed[64];
    size_t n = 0;

    if (base < 2 || base > 16) {
        buf[0] = '\0';
        return 0;
    }
    if (min_digits > sizeof reversed)
        min_digits = sizeof reversed;
    do {
        reversed[n++] = digits[divide_small(&value, base)];
    } while (value != 0);
    while (n < min_digits)
        reversed[n++] = '0';
    for (size_t i = 0; i < n; ++i)
        buf[i] = reversed[n - 1 - i];
    buf[n] = '\0';
    return n;
}

size_t fmt_dec(char *buf, uint64_t value)
{
    return fmt_unsigned(buf, value, 10, 1);
}

size_t fmt_hex(char *buf, uint64_t value, unsigned min_digits)
{
    buf[0] = '0';
    buf[1] = 'x';
    return 2 + fmt_unsigned(buf + 2, value, 16, min_digits);
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        ++n;
    return n;
}

/* rep stosb / rep movsb: one instruction each, and no loop for gcc to turn
 * back into a call to memset/memcpy (which would recurse). */
void *memset(void *dest, int c, size_t n)
{
    void *d = dest;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dest;
}

void *memcpy(void *dest, const void *src, size_t n)
{
    void *d = dest;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dest;
}
