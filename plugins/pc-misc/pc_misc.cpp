// pc-misc: the odd ports of QEMU's pc that test kernels and firmware touch:
// port 0x80 (POST codes, or a write used as a ~1 µs delay), port 0x92
// (system control port A: the A20 gate bit and the fast-reset bit) and the
// keyboard controller's command port 0x64, for its reset command 0xfe.
// vmm has no machine reset: a reset the guest asks for ends the VM with the
// `reset-status` setting's status (default 4).
//
// State: complete for these ports; no state to save (a swap restarts them).
// Missing: the keyboard controller itself (no keyboard, no data port 0x60,
//          no other command), a real A20 gate (KVM's is always open).
// Documentation: README.md beside this file; QEMU's hw/i386/port92.c,
// hw/input/pckbd.c and ioport80_read/write in hw/i386/pc.c.
#include <vmm/sdk.hpp>

#include <array>
#include <cstdint>

namespace {

enum RegionIndex : uint32_t { post_region, port92_region, kbc_command_region, region_count };
constexpr std::array kRegions = {vmm::sdk::pio_region(0x80, 1), vmm::sdk::pio_region(0x92, 1),
                                 vmm::sdk::pio_region(0x64, 1)};
constexpr vmm_config_key kResetStatusKey = vmm::sdk::with_range(
    vmm::sdk::with_default(vmm::sdk::int_key("reset-status", "exit status when the guest resets the machine (port 0x92 "
                                                             "bit 0, or 0xfe to port 0x64)"),
                           "4"),
    0, 255);
constexpr std::array kKeys = {kResetStatusKey};

constexpr uint8_t kFastReset = 0x01; // port 0x92 bit 0: a 0 -> 1 change resets
constexpr uint8_t kKbcReset = 0xfe;  // 8042 command: pulse the CPU's reset line
// 8042 status: input and output buffers empty (a guest waits for bit 1
// clear before a command), the system flag (bit 2: self-test passed) and
// the keyboard not inhibited (bit 4), as QEMU's controller reads at rest.
constexpr uint8_t kKbcStatus = 0x14;

class PcMisc final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        return vmm::sdk::PluginInfo{"pc-misc", "1.0.0",
                                    "pc odds and ends: port 0x80 swallowed, port 0x92 A20 bit and fast reset, "
                                    "the 8042's reset command 0xfe at port 0x64; a reset ends the VM",
                                    kKeys, kRegions};
    }

    explicit PcMisc(const vmm::sdk::DeviceContext &context)
        : Device(context), reset_status_(context.settings().get_int(kResetStatusKey).value())
    {
        if (reset_status_ < 0 || reset_status_ > 255)
            throw vmm::sdk::ConfigError("reset-status must be an exit status from 0 to 255, got " +
                                        std::to_string(reset_status_));
        const auto &regions = context.regions();
        bool ok = regions.size() == region_count;
        for (const vmm::sdk::Region &r : regions)
            ok = ok && r.space == vmm::sdk::Space::pio && r.size >= 1;
        if (!ok)
            throw vmm::sdk::ConfigError("needs 3 port regions (0x80, 0x92, 0x64, in that order), got " +
                                        std::to_string(regions.size()));
    }

    void read(uint32_t region, uint64_t offset, std::span<uint8_t> data) override
    {
        uint64_t value = ~uint64_t{0};
        if (offset == 0 && region == port92_region)
            value = port92_;
        else if (offset == 0 && region == kbc_command_region)
            value = kKbcStatus;
        vmm::sdk::store_le(data, value); // port 0x80 reads 0xff, as in QEMU
    }

    void write(uint32_t region, uint64_t offset, std::span<const uint8_t> data) override
    {
        if (offset != 0)
            return;
        const auto value = static_cast<uint8_t>(vmm::sdk::load_le(data));
        switch (region) {
        case port92_region: {
            const uint8_t old = port92_;
            port92_ = value;
            if ((value & kFastReset) != 0 && (old & kFastReset) == 0)
                reset("port 0x92 fast reset (bit 0 set)");
            break;
        }
        case kbc_command_region:
            if (value == kKbcReset)
                reset("keyboard controller command 0xfe at port 0x64");
            break;
        default: break; // port 0x80: a POST code or a delay, swallowed
        }
    }

private:
    void reset(const char *how)
    {
        host().info("the guest reset the machine (%s): vmm has no reset, the VM ends with status %d", how,
                    static_cast<int>(reset_status_));
        host().request_stop(static_cast<int32_t>(reset_status_));
    }

    int64_t reset_status_;
    uint8_t port92_ = 0x02; // A20 enabled, as a PC leaves it after the BIOS
};

} // namespace

VMM_PLUGIN(PcMisc)
