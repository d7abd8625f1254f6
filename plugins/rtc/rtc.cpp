// rtc: an MC146818 real-time clock and CMOS RAM at ports 0x70-0x71, as
// QEMU's pc machine has it. See README.md; the chip is mc146818.hpp, the
// NVRAM contents pc_cmos.hpp. This file is the host glue: the wall clock,
// the interrupt line and the timer.
#include "mc146818.hpp"
#include "pc_cmos.hpp"

#include <vmm/sdk.hpp>

#include <time.h>

#include <array>
#include <optional>

namespace {

constexpr std::array kKeys = {vmm::sdk::int_key(
    "memory", "guest RAM in bytes the NVRAM reports to firmware (default: the machine's)")};
constexpr std::array kDefaultRegions = {vmm::sdk::pio_region(0x70, 2)};
constexpr std::array kDefaultIrqs = {vmm::sdk::edge_irq(8)}; // the PC's RTC line

int64_t realtime_ns()
{
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

class Rtc final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        vmm::sdk::PluginInfo info{"rtc", "1.0.0", "MC146818 RTC and CMOS RAM (index 0x70, data 0x71), UTC", kKeys,
                                  kDefaultRegions};
        info.default_irqs = kDefaultIrqs;
        info.has_state = true;
        return info;
    }

    explicit Rtc(const vmm::sdk::DeviceContext &context) : Device(context), rtc_(port())
    {
        context.require_regions(vmm::sdk::Space::pio, 1, 2);
        // The machine's RAM and vCPUs (ABI 1.5); a host older than that
        // leaves only the setting, else 640 KiB of base memory and one CPU.
        const std::optional<vmm_machine_info> machine = host().machine_info();
        const int64_t memory =
            context.settings().get_int("memory", machine ? static_cast<int64_t>(machine->ram_size) : 0);
        if (memory < 0)
            throw vmm::sdk::ConfigError("memory must be 0 or more bytes, got " + std::to_string(memory));
        rtc::fill_pc_cmos(rtc_, static_cast<uint64_t>(memory), machine ? machine->vcpu_count : 1);
    }

    void read(uint32_t, uint64_t offset, std::span<uint8_t> data) override
    {
        for (std::size_t i = 0; i < data.size(); ++i)
            data[i] = rtc_.read(offset + i);
    }

    void write(uint32_t, uint64_t offset, std::span<const uint8_t> data) override
    {
        for (std::size_t i = 0; i < data.size(); ++i)
            rtc_.write(offset + i, data[i]);
    }

    // Hosts before ABI 1.4 never call this: the device then has no
    // interrupts, and the flags in register C still follow the time.
    void realize(vmm::sdk::Runtime &runtime) override
    {
        if (!runtime.available())
            return;
        if (runtime.irq_count() > 0)
            irq_ = runtime.irq(0);
        timer_ = runtime.timer([this](uint64_t) { rtc_.timer_expired(); });
        rtc_.resync();
    }

    std::vector<uint8_t> save_state() override { return rtc_.save(); }
    void load_state(std::span<const uint8_t> blob) override { rtc_.load(blob); }

private:
    rtc::RtcPort port()
    {
        rtc::RtcPort p;
        p.interrupt = [this](bool level) {
            if (!irq_)
                return; // no runtime, or no line
            try {
                irq_.set(level);
            } catch (const vmm::sdk::RuntimeError &e) {
                host().debug("interrupt line: %s", e.what());
            }
        };
        p.now_ns = [] { return realtime_ns(); };
        p.arm_timer = [this](uint64_t delay_ns) {
            if (!timer_)
                return;
            try {
                timer_.arm(delay_ns);
            } catch (const vmm::sdk::RuntimeError &e) {
                host().debug("timer: %s", e.what());
            }
        };
        return p;
    }

    vmm::sdk::InterruptLine irq_;
    vmm::sdk::Timer timer_;
    rtc::Mc146818 rtc_; // last: its port uses irq_ and timer_
};

} // namespace

VMM_PLUGIN(Rtc)
