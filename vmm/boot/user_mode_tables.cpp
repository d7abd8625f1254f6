#include "boot/user_mode_tables.hpp"

#include <cstring>
#include <stdexcept>

namespace vmm::x86::user {
namespace {

constexpr uint64_t kPage = 0x1000, kTwoMiB = 2ull << 20;
constexpr uint64_t kPresent = 1, kWritable = 2, kUser = 4, kLargePage = 0x80;
constexpr uint64_t kFixedPages = 3; // GDT/IDT/stubs, PML4, PDPT

uint64_t align_up(uint64_t value, uint64_t alignment) { return (value + alignment - 1) / alignment * alignment; }

uint64_t tss_and_bitmap_bytes(uint32_t vcpus) { return align_up(uint64_t{vcpus} * kTssStride + kIoBitmapBytes, kPage); }
uint64_t stack_bytes(uint32_t vcpus) { return align_up(uint64_t{vcpus} * kHandlerStackBytes, kPage); }

// How many 2 MiB pages an area of `size` bytes can touch, wherever it
// starts on a page boundary: each needs its own 4 KiB page table.
uint64_t split_tables(uint64_t size_without_tables)
{
    uint64_t tables = 1;
    for (;;) {
        const uint64_t needed = (size_without_tables + tables * kPage + kTwoMiB - 1) / kTwoMiB + 1;
        if (needed <= tables)
            return tables;
        tables = needed;
    }
}

void store64(std::vector<uint8_t> &bytes, uint64_t offset, uint64_t value)
{
    if (offset > bytes.size() || bytes.size() - offset < 8)
        throw std::logic_error("user-mode table entry outside its area");
    std::memcpy(bytes.data() + offset, &value, 8);
}

void store16(std::vector<uint8_t> &bytes, uint64_t offset, uint16_t value)
{
    if (offset > bytes.size() || bytes.size() - offset < 2)
        throw std::logic_error("user-mode table entry outside its area");
    std::memcpy(bytes.data() + offset, &value, 2);
}

} // namespace

bool has_error_code(uint32_t vector)
{
    return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || vector == 29 ||
           vector == 30;
}

uint64_t Layout::size_for(uint64_t mapped_gib, uint32_t vcpus)
{
    const uint64_t without = (kFixedPages + mapped_gib) * kPage + tss_and_bitmap_bytes(vcpus) + stack_bytes(vcpus);
    return without + split_tables(without) * kPage;
}

Layout::Layout(uint64_t base, uint64_t mapped_gib, uint32_t vcpus)
    : base_(base), mapped_gib_(mapped_gib), vcpus_(vcpus)
{
    const uint64_t without = (kFixedPages + mapped_gib) * kPage + tss_and_bitmap_bytes(vcpus) + stack_bytes(vcpus);
    page_tables_ = split_tables(without);
    tss_base_ = page_table(page_tables_);
    stacks_ = tss_base_ + tss_and_bitmap_bytes(vcpus);
    size_ = stacks_ + stack_bytes(vcpus) - base_;
}

uint32_t Layout::tss_limit(uint32_t vcpu) const
{
    const uint64_t bitmap_end = tss(vcpus_) + kIoBitmapBytes; // the bitmap follows the last TSS
    return static_cast<uint32_t>(bitmap_end - tss(vcpu) - 1);
}

std::vector<uint8_t> build_system_area(const Layout &layout)
{
    std::vector<uint8_t> area(layout.size(), 0);
    const uint64_t base = layout.base();
    auto at = [&](uint64_t address) { return address - base; };

    store64(area, 0x08, 0x00af9a000000ffffull); // kernel code, 64-bit (the handler)
    store64(area, 0x10, 0x00cf92000000ffffull); // kernel data
    store64(area, 0x18, 0x00cffa000000ffffull); // user code, 32-bit
    store64(area, 0x20, 0x00cff2000000ffffull); // user data
    store64(area, 0x28, 0x00affa000000ffffull); // user code, 64-bit
    const uint64_t tss0 = layout.tss(0), limit = layout.tss_limit(0);
    store64(area, 0x30, (limit & 0xffff) | ((tss0 & 0xffffff) << 16) | (0x89ull << 40) | (((limit >> 16) & 0xf) << 48) |
                            (((tss0 >> 24) & 0xff) << 56)); // for a guest's own LTR; the VMM sets TR directly
    store64(area, 0x38, tss0 >> 32);

    for (uint32_t vector = 0; vector < kVectors; ++vector) {
        const uint64_t stub = layout.stub(vector);
        // Present, DPL 0, 64-bit interrupt gate, IST 0 (from CPL 3: RSP0).
        store64(area, at(layout.idt()) + vector * 16,
                (stub & 0xffff) | (uint64_t{kKernelCodeSelector} << 16) | (0x8eull << 40) | (((stub >> 16) & 0xffff) << 48));
        store64(area, at(layout.idt()) + vector * 16 + 8, stub >> 32);
        uint64_t offset = at(stub);
        if (!has_error_code(vector)) {
            area[offset++] = 0x6a; // push $0
            area[offset++] = 0x00;
        }
        area[offset++] = 0x6a; // push $vector
        area[offset++] = static_cast<uint8_t>(vector);
        area[offset++] = 0xf4; // hlt: an exit to the VMM
        area[offset++] = 0xeb; // jmp back to the hlt, should anything wake it
        area[offset++] = 0xfd;
    }

    const uint64_t area_end = base + layout.size();
    store64(area, at(layout.pml4()), layout.pdpt() | kPresent | kWritable | kUser);
    uint64_t next_table = 0;
    for (uint64_t gib = 0; gib < layout.mapped_gib(); ++gib) {
        const uint64_t directory = layout.directory(gib);
        store64(area, at(layout.pdpt()) + gib * 8, directory | kPresent | kWritable | kUser);
        for (uint64_t entry = 0; entry < 512; ++entry) {
            const uint64_t physical = (gib << 30) | (entry << 21);
            const bool holds_area = physical < area_end && base < physical + kTwoMiB;
            if (!holds_area) {
                store64(area, at(directory) + entry * 8, physical | kPresent | kWritable | kUser | kLargePage);
                continue;
            }
            if (next_table == layout.page_tables())
                throw std::logic_error("user-mode area spans more 2 MiB pages than it has tables for");
            const uint64_t table = layout.page_table(next_table++);
            store64(area, at(directory) + entry * 8, table | kPresent | kWritable | kUser);
            for (uint64_t page = 0; page < 512; ++page) {
                const uint64_t address = physical + page * kPage;
                const bool supervisor = address >= base && address < area_end;
                store64(area, at(table) + page * 8, address | kPresent | kWritable | (supervisor ? 0 : kUser));
            }
        }
    }

    for (uint32_t vcpu = 0; vcpu < layout.vcpus(); ++vcpu) {
        const uint64_t tss = layout.tss(vcpu);
        store64(area, at(tss) + 4, layout.handler_stack_top(vcpu)); // RSP0
        store16(area, at(tss) + 102, static_cast<uint16_t>(layout.tss(layout.vcpus()) - tss)); // I/O map base
    }
    area[at(layout.tss(layout.vcpus())) + kIoBitmapBytes - 1] = 0xff; // all ports allowed, then the end byte
    return area;
}

} // namespace vmm::x86::user
