/*
 * interrupts.c - see interrupts.h.
 */
#include "interrupts.h"

#include "io.h"

/* A 64-bit IDT gate (Intel SDM vol. 3, 6.14.1). */
struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;        /* 0: stay on the current stack */
    uint8_t type_attr;  /* P | DPL | type */
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate");

#define GATE_INTERRUPT_64 0x8e  /* present, DPL 0, 64-bit interrupt gate */

static struct idt_gate idt[256] __attribute__((aligned(16)));

void idt_init(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) descriptor = {sizeof idt - 1, (uint64_t)(uintptr_t)idt};
    for (unsigned i = 0; i < 256; ++i)
        idt[i] = (struct idt_gate){0};
    __asm__ volatile("lidt %0" : : "m"(descriptor) : "memory");
}

void idt_set_gate(uint8_t vector, interrupt_handler_t handler)
{
    const uint64_t offset = (uint64_t)(uintptr_t)handler;
    uint16_t cs;
    /* The VMM chose the code segment; use whichever we run in. */
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    idt[vector] = (struct idt_gate){
        .offset_low = (uint16_t)offset,
        .selector = cs,
        .ist = 0,
        .type_attr = GATE_INTERRUPT_64,
        .offset_mid = (uint16_t)(offset >> 16),
        .offset_high = (uint32_t)(offset >> 32),
        .reserved = 0,
    };
}

__attribute__((interrupt)) void pic_spurious(struct interrupt_frame *frame)
{
    (void)frame;
}

void pic_remap(uint8_t base)
{
    for (unsigned i = 0; i < 16; ++i)
        idt_set_gate((uint8_t)(base + i), pic_spurious);
    outb(0x11, PIC_MASTER_COMMAND);  /* ICW1: edge triggered, cascade, ICW4 follows */
    outb(0x11, PIC_SLAVE_COMMAND);
    outb(base, PIC_MASTER_DATA);     /* ICW2: vector base */
    outb((uint8_t)(base + 8), PIC_SLAVE_DATA);
    outb(0x04, PIC_MASTER_DATA);     /* ICW3: a slave on IRQ 2 */
    outb(0x02, PIC_SLAVE_DATA);      /*       the slave's cascade identity */
    outb(0x01, PIC_MASTER_DATA);     /* ICW4: 8086 mode, normal EOI */
    outb(0x01, PIC_SLAVE_DATA);
    pic_set_mask(0xffff);
}

void pic_set_mask(uint16_t mask)
{
    if ((mask & 0xff00) != 0xff00)
        mask &= (uint16_t)~(1u << 2);
    outb((uint8_t)mask, PIC_MASTER_DATA);  /* OCW1 */
    outb((uint8_t)(mask >> 8), PIC_SLAVE_DATA);
}

void pic_eoi(unsigned irq)
{
    if (irq >= 8)
        outb(PIC_EOI, PIC_SLAVE_COMMAND);
    outb(PIC_EOI, PIC_MASTER_COMMAND);
}
