// irq-test: a device that raises interrupts when the guest asks it to, and
// counts what it sent, so that a guest can check that every interrupt line
// kind (edge through irqfd, level through KVM_IRQ_LINE, MSI) arrives exactly
// as often as it was sent; and a doorbell register to measure ioeventfd
// against an exit to userspace.
//
// State: a test device (tests/e2e/test_interrupts.cpp, tests/bench/doorbell_bench.cpp).
// Missing: everything a real device would have; it has no state to swap.
// Documentation: README.md beside this file (the register map).
#include <vmm/sdk.hpp>

#include <array>
#include <cstdint>
#include <optional>

namespace {

// Registers, 4 bytes each (README.md).
constexpr uint64_t kCommand = 0x0;    // w: a command; r: the selected counter
constexpr uint64_t kMsiAddress = 0x4; // r/w
constexpr uint64_t kMsiData = 0x8;    // r/w
constexpr uint64_t kRing = 0xc;       // w: one ring; r: rings counted
constexpr uint64_t kRegisterBytes = 0x10;

// Commands written to COMMAND.
constexpr uint32_t kPulseEdge = 1;
constexpr uint32_t kRaiseLevel = 2;
constexpr uint32_t kLowerLevel = 3;
constexpr uint32_t kSendMsi = 4;
constexpr uint32_t kSelectCounter = 0x10; // 0x10 + i: COMMAND reads return counter i

// Counters, in the order of kSelectCounter + i; then line 1's level (1 while
// raised), which a level handler reads to tell its interrupt from a
// spurious one, as drivers on level lines do.
enum Counter : uint32_t { pulses, raises, lowers, msis, rings, refused, counter_count };
constexpr uint32_t kLevelNow = counter_count;

constexpr std::array kKeys = {vmm::sdk::with_default(
    vmm::sdk::bool_key(
        "doorbell", "true: RING is an ioeventfd doorbell (rings absorbed in the kernel); false: each ring is an exit"),
    "false")};
constexpr std::array kRegions = {vmm::sdk::pio_region(0x500, kRegisterBytes)};
// Line 0 pulses (edge), line 1 is held (level). GSIs 5 and 10 by default.
constexpr std::array kIrqs = {vmm::sdk::edge_irq(5), vmm::sdk::level_irq(10)};

class IrqTest final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        vmm::sdk::PluginInfo info{"irq-test", "1.0.0",
                                  "test device: pulses, raises and lowers its lines and sends MSIs on command; "
                                  "counts doorbell rings",
                                  kKeys, kRegions};
        info.default_irqs = kIrqs;
        return info;
    }

    explicit IrqTest(const vmm::sdk::DeviceContext &context)
        : Device(context), doorbell_(context.settings().get_bool(kKeys[0]).value())
    {
        context.require_regions(vmm::sdk::Space::pio, 1, kRegisterBytes);
        if (context.irq_count() != kIrqs.size())
            throw vmm::sdk::ConfigError("needs 2 interrupt lines (edge, level), got " +
                                        std::to_string(context.irq_count()));
    }

    void realize(vmm::sdk::Runtime &runtime) override
    {
        edge_ = runtime.irq(0);
        level_ = runtime.irq(1);
        // A 4-byte write to RING then never reaches write(): KVM signals an
        // eventfd in the kernel and the event loop calls us with how many
        // rings it absorbed since the last call, under this device's lock
        // (the plugin is not thread-safe), so a plain counter will do.
        if (doorbell_)
            ring_ = runtime.doorbell(0, kRing, 4, std::nullopt, [this](uint64_t n) { counters_[rings] += n; });
    }

    void read(uint32_t, uint64_t offset, std::span<uint8_t> data) override
    {
        uint32_t value = ~0u;
        switch (offset & ~uint64_t{3}) {
        case kCommand:
            value = selected_ == kLevelNow ? level_high_ : static_cast<uint32_t>(counters_[selected_]);
            break;
        case kMsiAddress: value = msi_address_; break;
        case kMsiData: value = msi_data_; break;
        case kRing: value = static_cast<uint32_t>(counters_[rings]); break;
        }
        vmm::sdk::store_le(data, value >> (8 * (offset & 3)));
    }

    void write(uint32_t, uint64_t offset, std::span<const uint8_t> data) override
    {
        const auto value = static_cast<uint32_t>(vmm::sdk::load_le(data));
        switch (offset) {
        case kCommand: run(value); break;
        case kMsiAddress: msi_address_ = value; break;
        case kMsiData: msi_data_ = value; break;
        case kRing: ++counters_[rings]; break; // doorbell = false, or a write the doorbell does not match
        default:
            if (warn_once())
                host().warn("write of %zu bytes at offset %llu ignored", data.size(), (unsigned long long)offset);
        }
    }

private:
    void run(uint32_t command)
    {
        if (command >= kSelectCounter && command <= kSelectCounter + kLevelNow) {
            selected_ = command - kSelectCounter;
            return;
        }
        // A refused service (no irqchip for MSI, an address outside the
        // APIC window) is counted, not thrown: the guest reads `refused`.
        try {
            switch (command) {
            case kPulseEdge: edge_.pulse(); ++counters_[pulses]; break;
            case kRaiseLevel: level_.raise(); level_high_ = 1; ++counters_[raises]; break;
            case kLowerLevel: level_.lower(); level_high_ = 0; ++counters_[lowers]; break;
            case kSendMsi: runtime().msi(msi_address_, msi_data_); ++counters_[msis]; break;
            default:
                if (warn_once())
                    host().warn("unknown command %u ignored", command);
            }
        } catch (const vmm::sdk::RuntimeError &e) {
            ++counters_[refused];
            if (warn_once())
                host().warn("command %u: %s", command, e.what());
        }
    }

    // The guest decides how often it misbehaves: log the first few only.
    bool warn_once() { return warnings_ < 8 && ++warnings_ > 0; }

    bool doorbell_;
    unsigned warnings_ = 0;
    vmm::sdk::InterruptLine edge_, level_;
    vmm::sdk::Doorbell ring_;
    uint32_t msi_address_ = 0, msi_data_ = 0;
    uint32_t selected_ = rings;
    uint32_t level_high_ = 0;
    std::array<uint64_t, counter_count> counters_{};
};

} // namespace

VMM_PLUGIN(IrqTest)
