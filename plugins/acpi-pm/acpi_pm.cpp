// acpi-pm: the ACPI fixed-feature power-management registers of a PC
// chipset: the PM1a event block (PM1_STS, PM1_EN), the PM1a control block
// (PM1_CNT: SCI_EN, SLP_TYP, SLP_EN) and the PM timer, in one port range.
// The VMM's FADT ([machine] acpi = true) points at these ports and at the
// device's interrupt line (the SCI). See README.md for what it leaves out.
//
// Register offsets (vmm/boot/acpi_tables.hpp keeps the same numbers):
//   +0 PM1_STS (16 bits, write 1 to clear)   +2 PM1_EN (16 bits)
//   +4 PM1_CNT (16 bits)                      +6 reserved (reads 0)
//   +8 PM_TMR  (32 bits, read-only; 24 or 32 bits count, `timer_bits`)
#include <vmm/sdk.hpp>

#include <array>
#include <optional>
#include <string>

namespace {

constexpr vmm_config_key kTimerBitsKey = vmm::sdk::with_range(
    vmm::sdk::with_default(vmm::sdk::int_key("timer_bits",
                                             "PM timer width, 24 or 32; the FADT's TMR_VAL_EXT follows it"),
                           "24"),
    24, 32);
constexpr vmm_config_key kPowerButtonKey = vmm::sdk::with_range(
    vmm::sdk::with_default(vmm::sdk::int_key("power_button_ms",
                                             "press the power button (PWRBTN_STS) this many ms after start; 0: never"),
                           "0"),
    0, 86'400'000);
constexpr std::array kKeys = {kTimerBitsKey, kPowerButtonKey};
constexpr std::array kDefaultRegions = {vmm::sdk::pio_region(0x600, 12)}; // QEMU's PM base
constexpr std::array kDefaultIrqs = {vmm::sdk::level_irq(9)};              // the SCI, level, as QEMU's pc

constexpr uint64_t kTimerHz = 3'579'545;
constexpr uint64_t kRegisterBytes = 12;

// PM1_STS / PM1_EN bits.
constexpr uint16_t kTmr = 1u << 0, kGbl = 1u << 5, kPwrbtn = 1u << 8, kSlpbtn = 1u << 9, kRtc = 1u << 10;
constexpr uint16_t kWak = 1u << 15;
constexpr uint16_t kStatusBits = kTmr | (1u << 4) | kGbl | kPwrbtn | kSlpbtn | kRtc | kWak;
constexpr uint16_t kEnableBits = kTmr | kGbl | kPwrbtn | kSlpbtn | kRtc;
// PM1_CNT bits.
constexpr uint16_t kSciEn = 1u << 0, kSlpEn = 1u << 13;
constexpr unsigned kSlpTypShift = 10;
constexpr uint16_t kControlBits = kSciEn | (1u << 1) | (1u << 2) | (7u << kSlpTypShift);
// SLP_TYP values; the DSDT's \_S3 and \_S5 say the same (QEMU's PIIX4 values).
constexpr unsigned kSleepS5 = 0, kSleepS3 = 1;

class AcpiPm final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        vmm::sdk::PluginInfo info{"acpi-pm", "1.0.0", "ACPI PM1a event/control blocks and the 3.579545 MHz PM timer",
                                  kKeys, kDefaultRegions};
        info.default_irqs = kDefaultIrqs;
        return info;
    }

    explicit AcpiPm(const vmm::sdk::DeviceContext &context) : Device(context)
    {
        context.require_regions(vmm::sdk::Space::pio, 1, kRegisterBytes);
        const int64_t bits = context.settings().get_int(kTimerBitsKey).value();
        if (bits != 24 && bits != 32)
            throw vmm::sdk::ConfigError("timer_bits must be 24 or 32, got " + std::to_string(bits));
        timer_mask_ = bits == 32 ? 0xffffffffu : 0xffffffu;
        msb_period_ns_ = ((uint64_t{timer_mask_} + 1) / 2) * 1'000'000'000 / kTimerHz;
        const int64_t button = context.settings().get_int(kPowerButtonKey).value();
        if (button < 0 || button > 86'400'000)
            throw vmm::sdk::ConfigError("power_button_ms must be 0 to 86400000, got " + std::to_string(button));
        power_button_ms_ = static_cast<uint64_t>(button);
    }

    void realize(vmm::sdk::Runtime &runtime) override
    {
        if (!runtime.available())
            throw vmm::sdk::ConfigError("needs a host with the device runtime (ABI 1.4): the PM timer reads its clock");
        runtime_ = runtime; // a copy: the reference lives for this call only
        start_ns_ = runtime.now_ns();
        if (runtime.irq_count() > 0)
            sci_ = runtime.irq(0);
        // TMR_STS is set each time the counter's top bit changes, every
        // 2^(bits-1) ticks from the start.
        msb_timer_ = runtime.timer([this](uint64_t expirations) {
            if (expirations > 0)
                set_status(kTmr);
        });
        msb_timer_.arm(msb_period_ns_, msb_period_ns_);
        if (power_button_ms_ > 0) {
            button_timer_ = runtime.timer([this](uint64_t) { set_status(kPwrbtn); });
            button_timer_.arm(power_button_ms_ * 1'000'000, 0);
        }
    }

    void read(uint32_t, uint64_t offset, std::span<uint8_t> data) override
    {
        std::array<uint8_t, kRegisterBytes> bytes{};
        put16(bytes, 0, status_);
        put16(bytes, 2, enable_);
        put16(bytes, 4, control_); // SLP_EN is write-only: never stored
        const uint32_t timer = timer_value();
        for (int i = 0; i < 4; ++i)
            bytes[8 + i] = static_cast<uint8_t>(timer >> (8 * i));
        for (std::size_t i = 0; i < data.size(); ++i)
            data[i] = offset + i < bytes.size() ? bytes[offset + i] : 0xff;
    }

    void write(uint32_t, uint64_t offset, std::span<const uint8_t> data) override
    {
        // Byte by byte, so that any access width behaves the same; a 16-bit
        // register is updated once for all its bytes in this access.
        uint16_t clear = 0, enable = enable_, control = control_;
        bool control_written = false;
        for (std::size_t i = 0; i < data.size(); ++i) {
            const uint64_t at = offset + i;
            const uint16_t shifted = static_cast<uint16_t>(data[i] << (8 * (at & 1)));
            const uint16_t mask = static_cast<uint16_t>(0xff << (8 * (at & 1)));
            if (at < 2)
                clear |= shifted;
            else if (at < 4)
                enable = static_cast<uint16_t>((enable & ~mask) | shifted);
            else if (at < 6) {
                control = static_cast<uint16_t>((control & ~mask) | shifted);
                control_written = true;
            }
            // +6, +7 reserved; +8..+11 the timer: read-only.
        }
        status_ = static_cast<uint16_t>(status_ & ~(clear & kStatusBits));
        enable_ = static_cast<uint16_t>(enable & kEnableBits);
        if (control_written) {
            control_ = static_cast<uint16_t>(control & kControlBits);
            if (control & kSlpEn)
                sleep(static_cast<unsigned>(control >> kSlpTypShift) & 7u);
        }
        update_sci();
    }

private:
    static void put16(std::array<uint8_t, kRegisterBytes> &bytes, std::size_t at, uint16_t value)
    {
        bytes[at] = static_cast<uint8_t>(value);
        bytes[at + 1] = static_cast<uint8_t>(value >> 8);
    }

    uint32_t timer_value() const
    {
        if (!runtime_)
            return 0;
        const uint64_t elapsed = runtime_->now_ns() - start_ns_;
        // ticks = elapsed * 3579545 / 1e9, in two parts so that nothing overflows.
        constexpr uint64_t kNsPerSecond = 1'000'000'000;
        const uint64_t ticks = elapsed / kNsPerSecond * kTimerHz + elapsed % kNsPerSecond * kTimerHz / kNsPerSecond;
        return static_cast<uint32_t>(ticks) & timer_mask_;
    }

    void set_status(uint16_t bits)
    {
        status_ |= bits;
        update_sci();
    }

    // The SCI is a level: high while SCI_EN is set and an enabled event is pending.
    void update_sci()
    {
        const bool level = (control_ & kSciEn) != 0 && (status_ & enable_ & kEnableBits) != 0;
        if (!sci_ || level == sci_level_)
            return;
        sci_level_ = level;
        try {
            sci_.set(level);
        } catch (const vmm::sdk::RuntimeError &e) {
            host().debug("SCI: %s", e.what());
        }
    }

    void sleep(unsigned type)
    {
        if (type == kSleepS5) {
            host().info("guest entered S5 (soft off): stopping the VM with status 0");
            host().request_stop(0);
        } else if (type == kSleepS3) {
            // WAK_STS reads 1 once the guest runs again, which is after the wake.
            if (host().request_suspend()) {
                status_ |= kWak;
                host().info("guest entered S3 (suspend to RAM)");
            } else {
                host().warn("guest asked for S3, which this host or machine cannot do (no ACPI tables, or a host "
                            "before ABI 1.5): ignored");
            }
        } else {
            host().warn("guest wrote SLP_EN with SLP_TYP %u, which no \\_Sx package names: ignored", type);
        }
    }

    std::optional<vmm::sdk::Runtime> runtime_;
    vmm::sdk::InterruptLine sci_;
    vmm::sdk::Timer msb_timer_, button_timer_;
    uint64_t start_ns_ = 0, msb_period_ns_ = 0, power_button_ms_ = 0;
    uint32_t timer_mask_ = 0xffffff;
    uint16_t status_ = 0, enable_ = 0;
    uint16_t control_ = kSciEn; // no SMI_CMD in the FADT: ACPI mode from reset
    bool sci_level_ = false;
};

} // namespace

VMM_PLUGIN(AcpiPm)
