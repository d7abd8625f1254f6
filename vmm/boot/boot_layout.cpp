#include "boot/boot_layout.hpp"

#include "boot/multiboot.hpp"
#include "boot/user_mode_tables.hpp"
#include "boot/x86_tables.hpp"
#include "kvm/cpuid.hpp"
#include "support/errors.hpp"
#include "support/ranges.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vmm {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kGiB = 1ull << 30;

uint64_t align_up(uint64_t value, uint64_t alignment) { return (value + alignment - 1) / alignment * alignment; }
uint64_t align_down(uint64_t value, uint64_t alignment) { return value / alignment * alignment; }

class BootPlanner {
public:
    BootPlanner(const MachineSpec &spec, const std::vector<LoadedImage> &images, const AddressSpace &mmio)
        : spec_(spec), images_(images), mmio_(mmio)
    {
    }

    BootLayout plan()
    {
        layout_.mode = spec_.cpu.mode;
        const LoadedImage *multiboot = find_multiboot();
        choose_mode(multiboot);
        for (const LoadedImage &image : images_)
            for (const ImageChunk &chunk : image.chunks)
                add_chunk(chunk, image.spec->where);
        choose_entry();
        choose_stack();
        if (multiboot != nullptr && errors_.empty())
            place_multiboot(*multiboot);
        if (layout_.mode == CpuMode::protected32 || layout_.mode == CpuMode::long64 ||
            layout_.mode == CpuMode::user64)
            place_system_area();
        check_user_mode();
        check_overlaps();
        check_cpuid();
        if (!errors_.empty())
            throw InputErrors(std::move(errors_));
        std::sort(layout_.ram_chunks.begin(), layout_.ram_chunks.end(),
                  [](const ImageChunk &a, const ImageChunk &b) { return a.address < b.address; });
        return std::move(layout_);
    }

private:
    void error(const SourceLocation &where, const std::string &message) { errors_.emplace_back(where, message); }

    SourceLocation cpu_where() const
    {
        return spec_.cpu.where.known() ? spec_.cpu.where : SourceLocation{spec_.file.string(), 1, 1};
    }

    void add_chunk(ImageChunk chunk, const SourceLocation &where)
    {
        layout_.ram_chunks.push_back(std::move(chunk));
        chunk_where_.push_back(where);
    }

    const LoadedImage *find_multiboot()
    {
        const LoadedImage *found = nullptr;
        for (const LoadedImage &image : images_) {
            if (image.format != ImageFormat::multiboot)
                continue;
            if (found != nullptr)
                error(image.spec->where, "only one multiboot kernel per machine (another is at " +
                                             found->spec->where.str() + ")");
            else
                found = &image;
        }
        return found;
    }

    // A multiboot kernel starts in 32-bit protected mode, by definition.
    void choose_mode(const LoadedImage *multiboot)
    {
        if (multiboot == nullptr)
            return;
        if (spec_.cpu.mode_given && spec_.cpu.mode != CpuMode::protected32)
            error(spec_.cpu.mode_where, fmt::format("[cpu]: a multiboot kernel starts in \"protected\" mode, not \"{}\"",
                                                    cpu_mode_name(spec_.cpu.mode)));
        layout_.mode = CpuMode::protected32;
    }

    void choose_entry()
    {
        if (layout_.mode == CpuMode::reset)
            return;
        SourceLocation where = cpu_where();
        if (spec_.cpu.entry) {
            layout_.entry = spec_.cpu.entry;
            where = spec_.cpu.entry_where;
        } else {
            for (const LoadedImage &image : images_) {
                if (image.entry) {
                    layout_.entry = image.entry;
                    where = image.spec->where;
                    break;
                }
            }
        }
        if (!layout_.entry) {
            if (errors_.empty())
                error(cpu_where(), "no entry point: set [cpu] entry or give an [[image]]");
            return;
        }
        const uint64_t entry = *layout_.entry;
        if (layout_.mode == CpuMode::real && entry >= 0x100000)
            error(spec_.cpu.entry ? spec_.cpu.entry_where : cpu_where(),
                  fmt::format("entry {:#x} is beyond the 1 MiB that real mode can reach", entry));
        else if (layout_.mode == CpuMode::protected32 && entry > 0xffffffffull)
            error(spec_.cpu.entry ? spec_.cpu.entry_where : cpu_where(),
                  fmt::format("entry {:#x} is beyond the 4 GiB that protected mode can reach", entry));
        else if ((layout_.mode == CpuMode::long64 || layout_.mode == CpuMode::user64) && !is_canonical(entry))
            error(where, fmt::format("entry {:#x} is not a canonical address (in long mode bits 63-47 must all "
                                     "equal bit 47)",
                                     entry));
        else
            check_entry_fetchable(entry, where);
    }

    static bool is_canonical(uint64_t address)
    {
        const uint64_t upper = address >> 47; // bits 63-47: all 0 or all 1
        return upper == 0 || upper == (~uint64_t{0} >> 47);
    }

    // An entry the vCPU cannot fetch from (outside RAM and every ROM) faults
    // at the first instruction, and with no IDT that is a triple fault: it
    // is the machine file's mistake, in every mode. In real mode the vCPU
    // starts at CS:IP with CS = entry >> 4 & 0xf000: the linear address is
    // the entry itself.
    void check_entry_fetchable(uint64_t entry, const SourceLocation &where)
    {
        if (lies_within(entry, 1, 0, spec_.memory_size))
            return;
        for (const LoadedImage &image : images_) {
            if (image.type == ImageType::rom && lies_within(entry, 1, image.rom_address, image.rom_size))
                return;
        }
        error(where, fmt::format("entry {:#x} is outside guest RAM (0-{:#x}) and every ROM image: the vCPU "
                                 "would fault at its first instruction",
                                 entry, spec_.memory_size - 1));
    }

    // rsp of vCPU 0: as the machine file says, else the top of RAM (in real
    // mode, of the first 64 KiB: SP is 16 bits, and SP = 0 pushes to 0xfffe).
    void choose_stack()
    {
        if (const RegisterSetting *rsp = spec_.cpu.find_register("rsp"))
            layout_.stack_top = rsp->value;
        else if (layout_.mode == CpuMode::real)
            layout_.stack_top = std::min<uint64_t>(spec_.memory_size, 0x10000) & 0xffff;
        else
            layout_.stack_top = spec_.memory_size;
    }

    // Modules go page by page after everything loaded so far, below 4 GiB
    // and inside RAM; the information block in low memory (fits_low).
    void place_multiboot(const LoadedImage &kernel)
    {
        uint64_t next = 0;
        for (const ImageChunk &chunk : layout_.ram_chunks)
            next = std::max(next, chunk.end());
        next = align_up(std::max<uint64_t>(next, kPage), kPage);

        const uint64_t first = next;
        multiboot::InfoInput input;
        input.ram_size = spec_.memory_size;
        input.cmdline = kernel.spec->cmdline;
        input.loader_name = "vmm";
        for (const LoadedModule &module : kernel.modules) {
            const uint64_t start = kernel.align_modules ? align_up(next, kPage) : next;
            input.modules.push_back(multiboot::Module{static_cast<uint32_t>(start),
                                                      static_cast<uint32_t>(start + module.bytes.size()),
                                                      module.spec->cmdline});
            add_chunk(ImageChunk{start, module.bytes, 0, "module " + module.spec->file_as_written}, module.spec->where);
            next = align_up(start + module.bytes.size(), kPage);
        }
        if (next > spec_.memory_size || next > (uint64_t{1} << 32))
            error(kernel.spec->where, fmt::format("the multiboot modules ({:#x}-{:#x}) do not fit in guest RAM "
                                                  "({:#x} bytes)",
                                                  first, next - 1, spec_.memory_size));
        // The information block goes where QEMU puts it, in low memory, not
        // right after the kernel and modules: that is where a kernel's own
        // allocator starts, and it would overwrite the block after boot.
        const uint64_t low_size = multiboot::build_info(multiboot::kLowInfoAddress, input).size();
        const uint64_t at = fits_low(low_size) ? multiboot::kLowInfoAddress : next;
        std::vector<uint8_t> info = multiboot::build_info(static_cast<uint32_t>(at), input);
        const uint64_t end = at + info.size();
        layout_.multiboot_info = static_cast<uint32_t>(at);
        add_chunk(ImageChunk{at, std::move(info), 0, "the multiboot information"}, kernel.spec->where);
        if (end > spec_.memory_size || end > (uint64_t{1} << 32))
            error(kernel.spec->where, fmt::format("the multiboot information ({:#x}-{:#x}) does not fit in guest RAM "
                                                  "({:#x} bytes)",
                                                  at, end - 1, spec_.memory_size));
    }

    // Whether `size` bytes at the low address stay below 640 KiB, inside
    // RAM, and clear of everything loaded (a kernel linked that low keeps
    // the old place after its modules).
    bool fits_low(uint64_t size) const
    {
        const uint64_t base = multiboot::kLowInfoAddress;
        if (base + size > multiboot::kLowInfoLimit || base + size > spec_.memory_size)
            return false;
        return std::none_of(layout_.ram_chunks.begin(), layout_.ram_chunks.end(), [&](const ImageChunk &chunk) {
            return chunk.address < base + size && base < chunk.end();
        });
    }

    // The GDT and page tables: where [cpu] page_tables says, else just
    // below the vCPU stacks at the top of RAM.
    void place_system_area()
    {
        const bool user = layout_.mode == CpuMode::user64;
        const x86::Mode mode =
            layout_.mode == CpuMode::long64 || user ? x86::Mode::long64 : x86::Mode::protected32;
        uint64_t highest = spec_.memory_size;
        const Mapping *highest_mmio = nullptr; // the range that makes the tables map more than RAM needs
        for (const Mapping &m : mmio_.mappings()) {
            const uint64_t end = m.last() == ~uint64_t{0} ? m.last() : m.last() + 1;
            if (end > highest) {
                highest = end;
                highest_mmio = &m;
            }
        }
        layout_.mapped_gib = std::clamp<uint64_t>(align_up(highest, kGiB) / kGiB, x86::kMinMappedGiB, x86::kMaxMappedGiB);
        const uint64_t size = user ? x86::user::Layout::size_for(layout_.mapped_gib, spec_.vcpus)
                                   : x86::system_area_size(mode, layout_.mapped_gib);
        // When a device's MMIO makes the tables large, a message about their
        // room names it: it is what to move.
        std::string because;
        if (mode == x86::Mode::long64 && highest_mmio != nullptr && layout_.mapped_gib > x86::kMinMappedGiB)
            because = fmt::format(" (they map {} GiB to reach device '{}' {}{})", layout_.mapped_gib,
                                  highest_mmio->owner, describe_range(Space::mmio, highest_mmio->base, highest_mmio->size),
                                  highest_mmio->where.known() ? ", declared at " + highest_mmio->where.str() : "");

        uint64_t base = 0;
        SourceLocation where = spec_.cpu.page_tables_where.known() ? spec_.cpu.page_tables_where : cpu_where();
        if (spec_.cpu.page_tables) {
            base = *spec_.cpu.page_tables;
        } else {
            const uint64_t top = std::min(layout_.stack_top, spec_.memory_size);
            const uint64_t stacks = uint64_t{spec_.vcpus} * spec_.cpu.stack_size;
            if (top < stacks + size) {
                error(where, fmt::format("no room for the {} KiB of GDT and page tables{} below {} vCPU stack(s) of "
                                         "{:#x} bytes under {:#x}; set [cpu] page_tables",
                                         size / 1024, because, spec_.vcpus, spec_.cpu.stack_size, top));
                return;
            }
            base = align_down(top - stacks - size, kPage);
        }
        if (!lies_within(base, size, 0, spec_.memory_size)) {
            error(where, fmt::format("the GDT and page tables ({:#x}-{:#x}){} do not fit in guest RAM ({:#x} bytes)",
                                     base, base + size - 1, because, spec_.memory_size));
            return;
        }
        layout_.system_area = base;
        if (user) {
            add_chunk(ImageChunk{base, x86::user::build_system_area(x86::user::Layout(base, layout_.mapped_gib, spec_.vcpus)),
                                 0, "the user mode's GDT, IDT, TSS, handler and page tables (move them with [cpu] page_tables)"},
                      where);
            return;
        }
        add_chunk(ImageChunk{base, x86::build_system_area(mode, base, layout_.mapped_gib), 0,
                             "the GDT and page tables (move them with [cpu] page_tables)"},
                  where);
    }

    // The user mode's handler reports by HLT at CPL 0, which exits to the
    // VMM only without an in-kernel irqchip (with one, HLT waits in the
    // kernel for an interrupt that a CPL 3 guest has no way to take).
    void check_user_mode()
    {
        if (layout_.mode == CpuMode::user64 && spec_.irqchip)
            error(spec_.cpu.mode_where.known() ? spec_.cpu.mode_where : cpu_where(),
                  "[cpu]: mode \"user\" cannot be combined with [machine] irqchip = true (a CPL 3 guest cannot take "
                  "interrupts, and the VMM's exception handler reports through a HLT exit, which an irqchip keeps "
                  "in the kernel)");
    }

    // Every vCPU gets KVM's supported CPUID plus what the machine file adds,
    // in one KVM_SET_CPUID2, which refuses more than KVM_MAX_CPUID_ENTRIES:
    // refuse that here, at the overrides, not as a bare E2BIG later.
    void check_cpuid()
    {
        const CpuidSpec &cpuid = spec_.cpu.cpuid;
        if (cpuid.overrides.empty() && !cpuid.brand)
            return;
        const std::string problem = check_cpuid_table_size(host_supported_cpuid(), cpuid);
        if (!problem.empty())
            error(cpuid.overrides_where.known() ? cpuid.overrides_where : cpuid.brand_where, problem);
    }

    void check_overlaps()
    {
        for (std::size_t i = 0; i < layout_.ram_chunks.size(); ++i) {
            for (std::size_t j = 0; j < i; ++j) {
                const ImageChunk &a = layout_.ram_chunks[i];
                const ImageChunk &b = layout_.ram_chunks[j];
                if (a.size() == 0 || b.size() == 0 || a.address >= b.end() || b.address >= a.end())
                    continue;
                error(chunk_where_[i], fmt::format("{} ({:#x}-{:#x}) overlaps {} ({:#x}-{:#x}, at {})", a.what, a.address,
                                                   a.end() - 1, b.what, b.address, b.end() - 1, chunk_where_[j].str()));
            }
        }
    }

    const MachineSpec &spec_;
    const std::vector<LoadedImage> &images_;
    const AddressSpace &mmio_;
    BootLayout layout_;
    std::vector<SourceLocation> chunk_where_;
    std::vector<InputError> errors_;
};

} // namespace

BootLayout plan_boot(const MachineSpec &spec, const std::vector<LoadedImage> &images, const AddressSpace &mmio)
{
    return BootPlanner(spec, images, mmio).plan();
}

} // namespace vmm
