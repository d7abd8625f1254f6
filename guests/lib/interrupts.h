/*
 * interrupts.h - an IDT and the 8259A PIC pair, for long-mode guests that
 * take hardware interrupts (echo, timer).
 *
 * The VMM's long mode has no IDT (an exception triple-faults, which the VMM
 * reports), so a guest that wants interrupts loads its own: idt_init()
 * installs an empty 256-entry table (every gate not present: an exception
 * still ends in a triple fault with the registers shown), then
 * idt_set_gate() fills the vectors the guest handles. Handlers are C
 * functions with gcc's interrupt attribute (needs -mgeneral-regs-only,
 * which guests/CMakeLists.txt passes for x86_64):
 *
 *     __attribute__((interrupt)) static void on_irq4(struct interrupt_frame *frame);
 *
 * pic_remap() runs the ICW1-ICW4 sequence so that IRQ 0-7 arrive as vectors
 * base..base+7 and IRQ 8-15 as base+8..base+15 (not 0x08-0x0f, where the
 * power-on mapping would collide with CPU exceptions), masks every line,
 * and installs pic_spurious for all 16 vectors: with a line masked, the
 * only interrupt the PIC can still deliver is the spurious IRQ 7 (or 15),
 * which must not be acknowledged. The guest then installs its own handlers
 * and unmasks their lines with pic_set_mask().
 *
 * With KVM's in-kernel irqchip the PIC reaches the boot vCPU through its
 * local APIC's LINT0 set to ExtINT, so a guest that never programs its
 * local APIC still gets PIC interrupts. 64-bit only.
 */
#ifndef GUEST_LIB_INTERRUPTS_H
#define GUEST_LIB_INTERRUPTS_H

#include <stdint.h>

#define PIC_MASTER_COMMAND 0x20
#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_COMMAND 0xa0
#define PIC_SLAVE_DATA 0xa1
#define PIC_EOI 0x20            /* OCW2: non-specific end of interrupt */
#define PIC_VECTOR_BASE 0x20    /* where pic_remap(PIC_VECTOR_BASE) puts IRQ 0 */

struct interrupt_frame;         /* what the CPU pushed; handlers never look inside */
typedef void (*interrupt_handler_t)(struct interrupt_frame *);

/* Load an IDT whose 256 gates are all not present. */
void idt_init(void);
/* Point `vector` at `handler`: a present 64-bit interrupt gate (IF cleared
 * on entry), DPL 0, in the current code segment. */
void idt_set_gate(uint8_t vector, interrupt_handler_t handler);

/* ICW1-ICW4 for both PICs: IRQ n at vector `base` + n, the slave on the
 * master's IRQ 2, 8086 mode, normal EOI; every line masked; pic_spurious on
 * all 16 vectors. `base` must be a multiple of 8. */
void pic_remap(uint8_t base);
/* Bit n set masks IRQ n (bits 8-15: the slave; IRQ 2, the cascade, is
 * unmasked on the master whenever any slave line is). */
void pic_set_mask(uint16_t mask);
/* End of interrupt for `irq`: the slave too for IRQ 8-15. */
void pic_eoi(unsigned irq);
/* A handler that acknowledges nothing (see above). */
__attribute__((interrupt)) void pic_spurious(struct interrupt_frame *frame);

static inline void interrupts_disable(void)
{
    __asm__ volatile("cli" ::: "memory");
}

/* Enable interrupts and halt until one arrives; they are disabled again on
 * return. STI's one-instruction shadow makes `sti; hlt` atomic: an
 * interrupt already pending is taken after HLT starts, so it wakes it
 * rather than being missed between a check and the HLT. */
static inline void wait_for_interrupt(void)
{
    __asm__ volatile("sti; hlt; cli" ::: "memory");
}

static inline uint64_t rdtsc(void)
{
    uint32_t low, high;
    __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
    return ((uint64_t)high << 32) | low;
}

#endif /* GUEST_LIB_INTERRUPTS_H */
