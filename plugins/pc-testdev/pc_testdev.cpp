// pc-testdev: QEMU's x86 test device (hw/misc/pc-testdev.c), which
// kvm-unit-tests and other test kernels written for QEMU's pc use: a 32-bit
// latch at ports 0xe0-0xe3 (and byte-wise at 0xe8-0xeb), a "flush page"
// port at 0xe4, ports 0x2000-0x2017 whose write of 1/0 raises/lowers ISA
// interrupt line n, and 64 KiB of scratch memory at MMIO 0xff000000.
//
// State: complete for the registers; the interrupt lines it really has are
//        its declared ones (README.md: not 0, 2, 4, 8 or 9, which pc.toml's
//        PIT, the PIC cascade, COM1, the RTC and acpi-pm's SCI hold).
// Missing: the page flush does nothing (README.md says why); no state save.
// Documentation: README.md beside this file.
#include <vmm/sdk.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace {

// Regions, in this order (the defaults are QEMU's addresses).
enum RegionIndex : uint32_t { latch_region, flush_region, latch_byte_region, irq_region, iomem_region, region_count };
constexpr uint64_t kLatchBytes = 4;
constexpr uint64_t kIrqPorts = 24; // 0x2000 + n drives ISA line n, n < 24
constexpr uint64_t kIomemBytes = 0x10000;
constexpr std::array kRegions = {
    vmm::sdk::pio_region(0xe0, kLatchBytes),   vmm::sdk::pio_region(0xe4, 4),
    vmm::sdk::pio_region(0xe8, kLatchBytes),   vmm::sdk::pio_region(0x2000, kIrqPorts),
    vmm::sdk::mmio_region(0xff000000, kIomemBytes),
};

// The lines it has: every ISA/IOAPIC line except 0 (the PIT's), 2 (the PIC
// cascade), 4 (COM1), 8 (the RTC) and 9 (acpi-pm's SCI), so that it fits on
// the pc profile beside those. Line i is driven by port 0x2000 + kLines[i].
// Level-triggered and shared: a write of 1 holds the line until a write of
// 0, as QEMU's qemu_set_irq does.
constexpr std::array<uint32_t, 19> kLines = {1, 3, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};
constexpr auto make_irqs()
{
    std::array<vmm_irq_decl, kLines.size()> irqs{};
    for (std::size_t i = 0; i < kLines.size(); ++i)
        irqs[i] = vmm::sdk::level_irq(kLines[i], true);
    return irqs;
}
constexpr auto kIrqs = make_irqs();

// The port of line n -> the device's line index, if it has one.
std::optional<uint32_t> line_index(uint64_t port_offset)
{
    const auto *it = std::find(kLines.begin(), kLines.end(), port_offset);
    if (it == kLines.end())
        return std::nullopt;
    return static_cast<uint32_t>(it - kLines.begin());
}

class PcTestdev final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        vmm::sdk::PluginInfo info{"pc-testdev", "1.0.0",
                                  "QEMU's pc-testdev: a latch at 0xe0, page flush at 0xe4, IRQ lines at "
                                  "0x2000+n, 64 KiB of scratch MMIO at 0xff000000",
                                  {}, kRegions};
        info.default_irqs = kIrqs;
        return info;
    }

    explicit PcTestdev(const vmm::sdk::DeviceContext &context) : Device(context), iomem_(kIomemBytes, 0)
    {
        const auto &regions = context.regions();
        bool ok = regions.size() == region_count;
        for (uint32_t i = 0; ok && i < region_count; ++i) {
            const vmm::sdk::Region &r = regions[i];
            ok = r.space == (i == iomem_region ? vmm::sdk::Space::mmio : vmm::sdk::Space::pio) &&
                 r.size == kRegions[i].size;
        }
        if (!ok)
            throw vmm::sdk::ConfigError("needs its 5 regions as QEMU has them (ports 4 at 0xe0, 4 at 0xe4, 4 at "
                                        "0xe8, 24 at 0x2000; MMIO 64 KiB at 0xff000000), got " +
                                        std::to_string(regions.size()) + " region(s) of other kinds or sizes");
    }

    void realize(vmm::sdk::Runtime &runtime) override
    {
        for (uint32_t i = 0; i < runtime.irq_count() && i < kLines.size(); ++i)
            lines_[i] = runtime.irq(i);
    }

    void read(uint32_t region, uint64_t offset, std::span<uint8_t> data) override
    {
        switch (region) {
        case latch_region:
        case latch_byte_region: vmm::sdk::store_le(data, latch_read(offset, data.size())); break;
        case iomem_region:
            std::fill(data.begin(), data.end(), uint8_t{0});
            if (offset < kIomemBytes)
                std::memcpy(data.data(), iomem_.data() + offset, std::min<uint64_t>(data.size(), kIomemBytes - offset));
            break;
        default: vmm::sdk::store_le(data, 0); break; // the flush and IRQ ports read 0, as in QEMU
        }
    }

    void write(uint32_t region, uint64_t offset, std::span<const uint8_t> data) override
    {
        switch (region) {
        case latch_region:
        case latch_byte_region: latch_write(offset, data.size(), vmm::sdk::load_le(data)); break;
        case flush_region: break; // README.md: nothing to flush here
        case irq_region: set_line(offset, vmm::sdk::load_le(data) != 0); break;
        case iomem_region:
            if (offset < kIomemBytes)
                std::memcpy(iomem_.data() + offset, data.data(), std::min<uint64_t>(data.size(), kIomemBytes - offset));
            break;
        default: break;
        }
    }

private:
    // QEMU's test_ioport_read/write: an access of `size` bytes at byte
    // `offset` of the latch reads or replaces those bytes only; bytes past
    // the latch's end are dropped (writes) or zero (reads).
    static uint32_t latch_mask(uint64_t offset, std::size_t size)
    {
        if (offset >= kLatchBytes || size == 0)
            return 0;
        const uint64_t bits = 8 * std::min<uint64_t>(size, 4);
        return static_cast<uint32_t>((((uint64_t{1} << bits) - 1) << (8 * offset)) & 0xffffffffu);
    }
    uint64_t latch_read(uint64_t offset, std::size_t size) const
    {
        const uint32_t mask = latch_mask(offset, size);
        return mask == 0 ? 0 : (latch_ & mask) >> (8 * offset);
    }
    void latch_write(uint64_t offset, std::size_t size, uint64_t value)
    {
        const uint32_t mask = latch_mask(offset, size);
        if (mask == 0)
            return;
        latch_ = (latch_ & ~mask) | (static_cast<uint32_t>(value << (8 * offset)) & mask);
    }

    void set_line(uint64_t port_offset, bool level)
    {
        const std::optional<uint32_t> index = line_index(port_offset);
        if (!index || !lines_[*index]) {
            if (!refused_[port_offset % kIrqPorts]) {
                refused_[port_offset % kIrqPorts] = true;
                host().warn("write to port 0x%llx ignored: this device has no line %llu (pc.toml's devices hold 0, "
                            "2, 4, 8 and 9)",
                            0x2000ull + port_offset, static_cast<unsigned long long>(port_offset));
            }
            return;
        }
        try {
            if (level)
                lines_[*index].raise();
            else
                lines_[*index].lower();
        } catch (const vmm::sdk::RuntimeError &e) {
            if (!refused_[port_offset % kIrqPorts]) {
                refused_[port_offset % kIrqPorts] = true;
                host().warn("line %llu: %s", static_cast<unsigned long long>(port_offset), e.what());
            }
        }
    }

    uint32_t latch_ = 0;
    std::vector<uint8_t> iomem_;
    std::array<vmm::sdk::InterruptLine, kLines.size()> lines_{};
    std::array<bool, kIrqPorts> refused_{};
};

} // namespace

VMM_PLUGIN(PcTestdev)
