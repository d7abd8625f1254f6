// The system area of `[cpu] mode = "user"`: what the VMM writes into guest
// RAM so that a vCPU starts in 64-bit long mode at CPL 3, and so that HLT
// and every exception there end in a tiny VMM-written handler.
//
// Layout, at a page-aligned guest-physical base (offsets):
//   +0x0000  GDT: null, 0x08 kernel code (64-bit), 0x10 kernel data,
//            0x18 user code (32-bit), 0x20 user data, 0x28 user code
//            (64-bit), 0x30 TSS (16 bytes). The order is SYSRET's.
//   +0x0800  IDT: 32 interrupt gates (the exceptions), DPL 0
//   +0x0c00  the handler: 32 stubs of 8 bytes, each `push $0` (where the
//            CPU pushes no error code), `push $vector`, `hlt`
//   +0x1000  PML4, PDPT, one page directory per mapped GiB (2 MiB pages,
//            identity, user-accessible), then 4 KiB page tables for the
//            2 MiB pages this area lies in: the area is supervisor-only,
//            so CPL 3 code cannot rewrite the VMM's tables
//   then     one 128-byte TSS per vCPU (RSP0: its handler stack), followed
//            by one I/O permission bitmap allowing every port, shared by
//            all (each TSS's I/O map base reaches it)
//   then     a 512-byte handler stack per vCPU
//
// A stub's HLT runs at CPL 0 and exits to the VMM (no irqchip), which
// finds the vector, error code and the interrupted RIP, CS, RFLAGS, RSP
// and SS at the vCPU's handler stack top - 56 (user_mode_trap.hpp).
#pragma once

#include <cstdint>
#include <vector>

namespace vmm::x86::user {

inline constexpr uint16_t kKernelCodeSelector = 0x08;
inline constexpr uint16_t kUserCode32Selector = 0x18 | 3;
inline constexpr uint16_t kUserDataSelector = 0x20 | 3;
inline constexpr uint16_t kUserCodeSelector = 0x28 | 3;
inline constexpr uint16_t kTssSelector = 0x30;
inline constexpr uint32_t kGdtBytes = 8 * 8;
inline constexpr uint32_t kVectors = 32;
inline constexpr uint32_t kStubBytes = 8;
inline constexpr uint32_t kTssStride = 128;             // 104 used
inline constexpr uint32_t kIoBitmapBytes = 65536 / 8 + 1; // one bit per port, then the 0xff byte
inline constexpr uint32_t kHandlerStackBytes = 512;
inline constexpr uint32_t kFrameBytes = 7 * 8; // vector, error code, RIP, CS, RFLAGS, RSP, SS

class Layout {
public:
    Layout(uint64_t base, uint64_t mapped_gib, uint32_t vcpus);

    uint64_t base() const { return base_; }
    uint64_t size() const { return size_; }
    uint64_t mapped_gib() const { return mapped_gib_; }
    uint32_t vcpus() const { return vcpus_; }
    uint64_t gdt() const { return base_; }
    uint64_t idt() const { return base_ + 0x800; }
    uint64_t stubs() const { return base_ + 0xc00; }
    uint64_t stub(uint32_t vector) const { return stubs() + uint64_t{vector} * kStubBytes; }
    uint64_t pml4() const { return base_ + 0x1000; }
    uint64_t pdpt() const { return base_ + 0x2000; }
    uint64_t directory(uint64_t gib) const { return base_ + 0x3000 + gib * 0x1000; }
    uint64_t page_table(uint64_t index) const { return directory(mapped_gib_) + index * 0x1000; }
    uint64_t page_tables() const { return page_tables_; }
    uint64_t tss(uint32_t vcpu) const { return tss_base_ + uint64_t{vcpu} * kTssStride; }
    uint32_t tss_limit(uint32_t vcpu) const; // through the end of the shared I/O bitmap
    uint64_t handler_stack_top(uint32_t vcpu) const { return stacks_ + uint64_t{vcpu + 1} * kHandlerStackBytes; }

    // The byte size of the area for these inputs, wherever its base lies.
    static uint64_t size_for(uint64_t mapped_gib, uint32_t vcpus);

private:
    uint64_t base_, mapped_gib_;
    uint32_t vcpus_;
    uint64_t page_tables_ = 0, tss_base_ = 0, stacks_ = 0, size_ = 0;
};

// The bytes of the area (size() of them).
std::vector<uint8_t> build_system_area(const Layout &layout);

// Vectors for which the CPU pushes an error code.
bool has_error_code(uint32_t vector);

} // namespace vmm::x86::user
