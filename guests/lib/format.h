/*
 * format.h - numbers to text, and the few <string.h> functions guests need.
 *
 * Guests are built with -ffreestanding -fno-builtin and no libc, yet gcc
 * may still emit calls to memset/memcpy (struct copies, zeroing), so every
 * guest that links this library gets them here.
 *
 * The formatters need no libgcc: 64-bit values are divided 16 bits at a
 * time with 32-bit arithmetic, so they work unchanged in 32-bit guests.
 * They write a NUL-terminated string and return its length (without NUL).
 */
#ifndef GUEST_LIB_FORMAT_H
#define GUEST_LIB_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* Enough for any 64-bit value in any base >= 2, a "0x" prefix and the NUL. */
#define FMT_BUFFER_SIZE 67

/* `value` in `base` (2..16, lowercase digits), at least `min_digits` digits
 * (zero-padded). A base outside 2..16 gives "". */
size_t fmt_unsigned(char *buf, uint64_t value, unsigned base, unsigned min_digits);
/* Decimal: "0", "42", "18446744073709551615". */
size_t fmt_dec(char *buf, uint64_t value);
/* Hexadecimal with a "0x" prefix and at least `min_digits` digits: fmt_hex(b, 42, 4) -> "0x002a". */
size_t fmt_hex(char *buf, uint64_t value, unsigned min_digits);

size_t strlen(const char *s);
void *memset(void *dest, int c, size_t n);
void *memcpy(void *dest, const void *src, size_t n);

#endif /* GUEST_LIB_FORMAT_H */
