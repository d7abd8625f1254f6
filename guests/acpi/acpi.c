#include "acpi.h"

#include "console.h"
#include "format.h"

static uint32_t le32(uint64_t a) { return *(volatile uint32_t *)a; }
static uint16_t le16(uint64_t a) { return *(volatile uint16_t *)a; }
static uint8_t byte(uint64_t a) { return *(volatile uint8_t *)a; }
static uint64_t le64(uint64_t a) { return le32(a) | (uint64_t)le32(a + 4) << 32; }

static int same(uint64_t a, const char *text, unsigned n)
{
    for (unsigned i = 0; i < n; ++i)
        if (byte(a + i) != (uint8_t)text[i])
            return 0;
    return 1;
}

static uint8_t sum(uint64_t a, uint32_t n)
{
    uint8_t s = 0;
    for (uint32_t i = 0; i < n; ++i)
        s = (uint8_t)(s + byte(a + i));
    return s;
}

/* A table is usable: below 1 MiB + a little, a sane length, checksum 0. */
static int table_ok(uint64_t a)
{
    if (a == 0 || a >= 0x100000)
        return 0;
    const uint32_t length = le32(a + 4);
    return length >= 36 && length <= 0x10000 && a + length <= 0x100000 && sum(a, length) == 0;
}

/* SLP_TYPa of Name (_Sx_, Package (n) { a, ... }) in the DSDT's AML. */
static int sleep_type(uint64_t dsdt, char state)
{
    const uint32_t length = le32(dsdt + 4);
    for (uint64_t p = dsdt + 36; p + 9 <= dsdt + length; ++p) {
        if (byte(p) != 0x08 || byte(p + 1) != '_' || byte(p + 2) != 'S' || byte(p + 3) != (uint8_t)state ||
            byte(p + 4) != '_' || byte(p + 5) != 0x12)
            continue;
        const uint8_t first = byte(p + 8); /* after PkgLength (1 byte) and NumElements */
        if (first == 0x00 || first == 0x01)
            return first;                  /* ZeroOp, OneOp */
        if (first == 0x0a)
            return byte(p + 9);            /* BytePrefix */
        return -1;
    }
    return -1;
}

static void note_table(struct acpi_info *info, uint64_t a)
{
    if (same(a, "FACP", 4))
        info->fadt = a;
    else if (same(a, "APIC", 4))
        info->madt = a;
}

int acpi_find(struct acpi_info *info, const char **error)
{
    memset(info, 0, sizeof *info);
    info->s3_type = info->s5_type = -1;
    for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
        if (same(a, "RSD PTR ", 8)) {
            info->rsdp = a;
            break;
        }
    }
    if (info->rsdp == 0)
        return *error = "no RSDP in 0xe0000-0xfffff", -1;
    if (sum(info->rsdp, 20) != 0)
        return *error = "RSDP checksum", -2;
    if (byte(info->rsdp + 15) < 2 || sum(info->rsdp, le32(info->rsdp + 20)) != 0)
        return *error = "RSDP extended checksum or revision", -3;
    info->rsdt = le32(info->rsdp + 16);
    info->xsdt = le64(info->rsdp + 24);
    if (!table_ok(info->rsdt) || !same(info->rsdt, "RSDT", 4))
        return *error = "RSDT", -4;
    if (!table_ok(info->xsdt) || !same(info->xsdt, "XSDT", 4))
        return *error = "XSDT", -5;
    info->rsdt_entries = (le32(info->rsdt + 4) - 36) / 4;
    info->xsdt_entries = (le32(info->xsdt + 4) - 36) / 8;
    if (info->rsdt_entries != info->xsdt_entries)
        return *error = "RSDT and XSDT differ in length", -6;
    for (unsigned i = 0; i < info->rsdt_entries; ++i) {
        const uint64_t r = le32(info->rsdt + 36 + 4 * i), x = le64(info->xsdt + 36 + 8 * i);
        if (r != x)
            return *error = "RSDT and XSDT entries differ", -7;
        if (!table_ok(x))
            return *error = "a table the XSDT lists has a bad checksum or length", -8;
        note_table(info, x);
    }
    if (info->fadt == 0 || info->madt == 0)
        return *error = "no FADT or no MADT", -9;
    const uint64_t f = info->fadt;
    info->facs = le32(f + 36);
    info->dsdt = le32(f + 40);
    if (le64(f + 132) != info->facs || le64(f + 140) != info->dsdt)
        return *error = "FADT's X_FIRMWARE_CTRL or X_DSDT differ", -10;
    if ((info->facs & 63) != 0 || !same(info->facs, "FACS", 4) || le32(info->facs + 4) < 64)
        return *error = "FACS", -11;
    if (!table_ok(info->dsdt) || !same(info->dsdt, "DSDT", 4))
        return *error = "DSDT", -12;
    info->sci = le16(f + 46);
    info->pm1a_event = (uint16_t)le32(f + 56);
    info->pm1a_control = (uint16_t)le32(f + 64);
    info->pm_timer = (uint16_t)le32(f + 76);
    info->timer_32bit = (le32(f + 112) >> 8) & 1;
    if (info->pm1a_event == 0 || info->pm1a_control == 0 || info->pm_timer == 0 || byte(f + 91) != 4)
        return *error = "FADT PM blocks", -13;
    const uint64_t m = info->madt, end = m + le32(m + 4);
    for (uint64_t e = m + 44; e + 2 <= end;) {
        const uint8_t type = byte(e), length = byte(e + 1);
        if (length < 2 || e + length > end)
            return *error = "MADT entry length", -14;
        if (type == 0 && (le32(e + 4) & 1))
            info->lapics++;
        if (type == 1)
            info->ioapic_address = le32(e + 4);
        e += length;
    }
    info->s3_type = sleep_type(info->dsdt, '3');
    info->s5_type = sleep_type(info->dsdt, '5');
    return 0;
}

uint32_t acpi_pm_ticks(const struct acpi_info *info, uint32_t from, uint32_t to)
{
    const uint32_t mask = info->timer_32bit ? 0xffffffffu : 0xffffffu;
    return (to - from) & mask;
}

void print_dec(const char *name, uint64_t value)
{
    char digits[FMT_BUFFER_SIZE];
    fmt_dec(digits, value);
    uart_puts(UART_COM1, name);
    uart_puts(UART_COM1, "=");
    uart_puts(UART_COM1, digits);
    uart_puts(UART_COM1, " ");
}

void print_hex(const char *name, uint64_t value)
{
    char digits[FMT_BUFFER_SIZE];
    fmt_hex(digits, value, 1);
    uart_puts(UART_COM1, name);
    uart_puts(UART_COM1, "=");
    uart_puts(UART_COM1, digits);
    uart_puts(UART_COM1, " ");
}
