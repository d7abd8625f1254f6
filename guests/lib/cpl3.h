/*
 * cpl3.h - run guest code at CPL 3 (user mode) and come back to CPL 0.
 *
 * For 64-bit guests that set up their own environment. Why: on hosts where
 * KVM runs nested on a software-assisted host (kvm_pvm, like this project's
 * CI), every CPL 0 guest instruction goes through KVM's instruction
 * emulator (~1-2 us each) while CPL 3 code runs natively, 100-1000x faster.
 * A guest that does its privileged set-up at CPL 0 and its data path at
 * CPL 3 is honest on every host and fast on those (docs/user-mode.md).
 *
 *     static uint8_t area[CPL3_AREA_BYTES] __attribute__((aligned(4096)));
 *     cpl3_init(area, ram_bytes, on_fault);   // CPL 0: tables, GDT, TSS, IDT
 *     cpl3_map(area, 0xd0000000, 0x1000);     // optional: more user pages (MMIO)
 *     uint64_t r = cpl3_run(work, arg, user_stack_top);   // work(arg) at CPL 3
 *
 * Inside `work`, at CPL 3:
 *   - port I/O works on every port: the TSS's I/O permission bitmap allows
 *     them all (IOPL = 3 is set too, but kvm_pvm does not let IOPL reach
 *     CPL 3; each IN/OUT then costs an emulated check of the bitmap);
 *   - cpl3_syscall(fn, arg) runs fn(arg) at CPL 0 (`int $0x80`, IRETQ
 *     back) and returns its result: the way back for privileged work;
 *   - returning from `work` ends cpl3_run at CPL 0 with work's result;
 *   - an exception (#PF, #GP from a privileged instruction or HLT, #UD,
 *     #DE, ...) enters on_fault at CPL 0 on the stack cpl3_run was called
 *     on, with what the CPU pushed. on_fault must not return (end the VM,
 *     e.g. through debug-exit); if it does, or is NULL, the vCPU halts.
 *
 * What kvm_pvm allows, found by trying (docs/user-mode.md): exceptions from
 * CPL 3 are delivered through the IDT to CPL 0 (with RSP0 from the TSS);
 * `int $n` from CPL 3 is not: it raises #UD at the INT instruction; and
 * SYSCALL jumps to LSTAR without leaving CPL 3. So the system call is
 * `int $0x80`: on hardware it enters the DPL 3 gate 0x80, on kvm_pvm the
 * #UD handler recognises the INT (bytes CD 80 at RIP), steps over it and
 * takes the same path.
 *
 * Memory: user pages are identity-mapped 2 MiB pages, present, writable
 * and user-accessible; the area's tables are inside them, so CPL 3 code can
 * overwrite them (this runtime separates privilege for speed, not for
 * protection). One vCPU: the state (the CPL 0 stack) is global.
 * cpl3_init loads CR3, GDT, TR and IDT and reloads every
 * segment register; the code calling it must lie in what it maps.
 */
#ifndef GUEST_LIB_CPL3_H
#define GUEST_LIB_CPL3_H

#include <stdint.h>

/* Selectors, as in the VMM's own `mode = "user"` GDT. The order (32-bit
 * user code, user data, 64-bit user code) is the one SYSRETQ would need. */
#define CPL3_KERNEL_CS 0x08
#define CPL3_KERNEL_DS 0x10
#define CPL3_USER_CS32 0x1b
#define CPL3_USER_DS 0x23
#define CPL3_USER_CS 0x2b
#define CPL3_TSS 0x30

/* The area's layout (4 KiB aligned): PML4, PDPT, 4 page directories (the
 * first 4 GiB can be mapped), GDT, IDT (exceptions and gate 0x80), TSS
 * with a full I/O bitmap. */
#define CPL3_AREA_PML4 0x0000
#define CPL3_AREA_PDPT 0x1000
#define CPL3_AREA_DIRECTORIES 0x2000
#define CPL3_AREA_GDT 0x6000
#define CPL3_AREA_IDT 0x7000
#define CPL3_AREA_TSS 0x8000
#define CPL3_TSS_IO_BITMAP_BYTES 8192      /* one bit per port, 0 = allowed */
#define CPL3_TSS_BYTES (104 + CPL3_TSS_IO_BITMAP_BYTES + 1)
#define CPL3_AREA_BYTES 0xb000
#define CPL3_SYSCALL_VECTOR 0x80
#define CPL3_MAX_MAPPED (4ull << 30)

/* What the CPU pushed for an exception, with the vector first. */
struct cpl3_fault {
    uint64_t vector;
    uint64_t error_code;   /* 0 for vectors without one */
    uint64_t rip;          /* the faulting instruction (for #GP from HLT: the HLT) */
    uint64_t cs;           /* CPL in the low 2 bits */
    uint64_t rflags;
    uint64_t rsp;
    uint64_t ss;
};
typedef void (*cpl3_fault_handler_t)(const struct cpl3_fault *fault);

/* CPL 0. Builds the tables in `area` (CPL3_AREA_BYTES, 4 KiB aligned,
 * identity-mapped now), maps [0, ram_bytes) as user pages and switches to
 * them. Returns 0, or -1 if area is misaligned or ram_bytes exceeds 4 GiB. */
int cpl3_init(void *area, uint64_t ram_bytes, cpl3_fault_handler_t on_fault);
/* CPL 0. Identity-maps [base, base + bytes) (rounded out to 2 MiB) as user
 * pages, e.g. a device's MMIO. Returns 0, or -1 beyond 4 GiB. */
int cpl3_map(void *area, uint64_t base, uint64_t bytes);
/* CPL 0. Runs fn(arg) at CPL 3 on user_stack (its top; aligned down to 16)
 * and returns fn's result at CPL 0. Not reentrant. */
uint64_t cpl3_run(uint64_t (*fn)(uint64_t), uint64_t arg, void *user_stack);
/* CPL 3 (also works at CPL 0: it then just calls). Runs fn(arg) at CPL 0
 * and returns its result; RCX and R11 are clobbered, as by any call. */
uint64_t cpl3_syscall(uint64_t (*fn)(uint64_t), uint64_t arg);
/* The current privilege level, 0 or 3 (CS's low bits). */
static inline unsigned cpl3_current_cpl(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return cs & 3u;
}

#endif /* GUEST_LIB_CPL3_H */
