/*
 * cpl3.c - the tables behind cpl3.h: page tables with user pages, a GDT
 * with user segments and a TSS whose I/O bitmap allows every port, an IDT
 * for the 32 exception vectors and the system-call gate 0x80. The switches
 * themselves (IRETQ down, `int $0x80` up, the exception stubs) are in
 * cpl3_switch.S.
 */
#include "cpl3.h"

#define PAGE_PRESENT 0x1ull
#define PAGE_WRITABLE 0x2ull
#define PAGE_USER 0x4ull
#define PAGE_LARGE 0x80ull
#define TWO_MIB (2ull << 20)
#define GATE_DPL0 0x8eull /* present, 64-bit interrupt gate (IF cleared) */
#define GATE_DPL3 0xeeull /* the same, callable from CPL 3 */

/* In cpl3_switch.S. */
extern const uint8_t cpl3_exception_stubs[32][16];
extern void cpl3_syscall_gate(void);
extern uint8_t *cpl3_tss;                  /* RSP0 is written by cpl3_run */
extern cpl3_fault_handler_t cpl3_on_fault;

static void zero(uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i += 8)
        *(volatile uint64_t *)(p + i) = 0;
}

int cpl3_map(void *area, uint64_t base, uint64_t bytes)
{
    if (bytes == 0)
        return 0;
    const uint64_t first = base & ~(TWO_MIB - 1);
    if (base > CPL3_MAX_MAPPED || bytes > CPL3_MAX_MAPPED - base)
        return -1;
    uint8_t *a = area;
    uint64_t *pdpt = (uint64_t *)(a + CPL3_AREA_PDPT);
    uint64_t *directories = (uint64_t *)(a + CPL3_AREA_DIRECTORIES);
    for (uint64_t page = first; page < base + bytes; page += TWO_MIB) {
        const uint64_t gib = page >> 30;
        pdpt[gib] = (uint64_t)(uintptr_t)(a + CPL3_AREA_DIRECTORIES + gib * 4096) | PAGE_PRESENT | PAGE_WRITABLE |
                    PAGE_USER;
        directories[page / TWO_MIB] = page | PAGE_PRESENT | PAGE_WRITABLE | PAGE_USER | PAGE_LARGE;
    }
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory"); /* flush the TLB */
    return 0;
}

/* IST 0: from CPL 3 the CPU switches to the TSS's RSP0. */
static void set_gate(uint8_t *idt, unsigned vector, uint64_t handler, uint64_t type)
{
    uint64_t *gate = (uint64_t *)(idt + vector * 16);
    gate[0] = (handler & 0xffff) | ((uint64_t)CPL3_KERNEL_CS << 16) | (type << 40) |
              (((handler >> 16) & 0xffff) << 48);
    gate[1] = handler >> 32;
}

static uint64_t tss_descriptor_low(uint64_t base)
{
    const uint64_t limit = CPL3_TSS_BYTES - 1;
    return (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) | (((limit >> 16) & 0xf) << 48) |
           (((base >> 24) & 0xff) << 56);
}

int cpl3_init(void *area, uint64_t ram_bytes, cpl3_fault_handler_t on_fault)
{
    uint8_t *a = area;
    if (((uintptr_t)a & 0xfff) != 0 || ram_bytes > CPL3_MAX_MAPPED)
        return -1;
    zero(a, CPL3_AREA_BYTES);
    ((uint64_t *)(a + CPL3_AREA_PML4))[0] = (uint64_t)(uintptr_t)(a + CPL3_AREA_PDPT) | PAGE_PRESENT |
                                             PAGE_WRITABLE | PAGE_USER;
    /* cpl3_map's CR3 reload happens on the old tables; harmless. */
    uint64_t *gdt = (uint64_t *)(a + CPL3_AREA_GDT);
    gdt[1] = 0x00af9a000000ffffull; /* 0x08 kernel code, 64-bit */
    gdt[2] = 0x00cf92000000ffffull; /* 0x10 kernel data */
    gdt[3] = 0x00cffa000000ffffull; /* 0x18 user code, 32-bit (SYSRET's base) */
    gdt[4] = 0x00cff2000000ffffull; /* 0x20 user data */
    gdt[5] = 0x00affa000000ffffull; /* 0x28 user code, 64-bit */
    gdt[6] = tss_descriptor_low((uint64_t)(uintptr_t)(a + CPL3_AREA_TSS));
    gdt[7] = (uint64_t)(uintptr_t)(a + CPL3_AREA_TSS) >> 32;
    uint8_t *tss = a + CPL3_AREA_TSS;
    *(uint16_t *)(tss + 102) = 104;     /* the I/O bitmap follows the TSS: all zero, every port allowed */
    tss[CPL3_TSS_BYTES - 1] = 0xff;     /* the bitmap's required terminating byte */
    cpl3_tss = tss;
    cpl3_on_fault = on_fault;
    for (unsigned v = 0; v < 32; ++v)
        set_gate(a + CPL3_AREA_IDT, v, (uint64_t)(uintptr_t)cpl3_exception_stubs[v], GATE_DPL0);
    set_gate(a + CPL3_AREA_IDT, CPL3_SYSCALL_VECTOR, (uint64_t)(uintptr_t)cpl3_syscall_gate, GATE_DPL3);

    /* The current code keeps running across the CR3 switch: it is identity-mapped in both. */
    cpl3_map(a, 0, ram_bytes);
    __asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)(uintptr_t)(a + CPL3_AREA_PML4)) : "memory");

    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } gdtr = {8 * 8 - 1, (uint64_t)(uintptr_t)gdt},
                                                                        idtr = {(CPL3_SYSCALL_VECTOR + 1) * 16 - 1,
                                                                                (uint64_t)(uintptr_t)(a + CPL3_AREA_IDT)};
    __asm__ volatile("lgdt %0\n\t"
                     "lidt %1\n\t"
                     "pushq %2\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\tmov %3, %%eax\n\t"
                     "mov %%eax, %%ds\n\t"
                     "mov %%eax, %%es\n\t"
                     "mov %%eax, %%ss\n\t"
                     "mov %%eax, %%fs\n\t"
                     "mov %%eax, %%gs\n\t"
                     "mov %4, %%eax\n\t"
                     "ltr %%ax"
                     :
                     : "m"(gdtr), "m"(idtr), "i"(CPL3_KERNEL_CS), "i"(CPL3_KERNEL_DS), "i"(CPL3_TSS)
                     : "rax", "memory");

    return 0;
}
