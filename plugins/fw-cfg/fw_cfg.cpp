// fw-cfg: QEMU's firmware configuration device (docs/specs/fw_cfg.rst) at
// ports 0x510-0x511 and its DMA interface at 0x514-0x51b. The standard
// keys come from the machine (ABI 1.5 machine_info and machine_blob), the
// files from the device's settings. See README.md; the protocol is
// fw_cfg_device.hpp, the items fw_cfg_items.hpp, the settings fw_cfg_files.hpp.
// This file is the host glue.
#include "fw_cfg_device.hpp"
#include "fw_cfg_files.hpp"

#include <vmm/sdk.hpp>

#include <array>
#include <filesystem>

namespace {

#define FWCFG_SLOT_KEYS(n)                                                                              \
    vmm::sdk::string_key("file" #n "_name", "name of fw_cfg file " #n " in the directory, e.g. opt/demo"), \
        vmm::sdk::string_key("file" #n "_path", "its bytes: a host file (relative to the machine file)"),   \
        vmm::sdk::string_key("file" #n "_text", "its bytes: this string")

constexpr vmm_config_key kMaxFileSizeKey =
    vmm::sdk::with_range(vmm::sdk::with_default(vmm::sdk::int_key("max_file_size", "largest file in bytes"),
                                                "16777216"),
                         0, static_cast<int64_t>(fwcfg::kLargestMaxFileSize));
constexpr std::array kKeys = {kMaxFileSizeKey,    FWCFG_SLOT_KEYS(1), FWCFG_SLOT_KEYS(2),
                              FWCFG_SLOT_KEYS(3), FWCFG_SLOT_KEYS(4), FWCFG_SLOT_KEYS(5),
                              FWCFG_SLOT_KEYS(6), FWCFG_SLOT_KEYS(7), FWCFG_SLOT_KEYS(8)};
static_assert(kKeys.size() == 1 + 3 * fwcfg::kSlots);
#undef FWCFG_SLOT_KEYS

constexpr std::array kDefaultRegions = {vmm::sdk::pio_region(0x510, 2), vmm::sdk::pio_region(0x514, 8)};

constexpr const char *kStateFormat = "fw_cfg";
constexpr uint32_t kStateVersion = 1;

class HostDma final : public fwcfg::GuestDma {
public:
    explicit HostDma(const vmm::sdk::Host &host) : host_(host) {}
    bool read(uint64_t gpa, void *buffer, uint64_t size) override { return host_.read_guest(gpa, buffer, size); }
    bool write(uint64_t gpa, const void *buffer, uint64_t size) override
    {
        return host_.write_guest(gpa, buffer, size);
    }
    // A guest can fail DMA at the rate of its exits: the first kLoggedErrors
    // are logged, the rest only counted (and the count said once).
    void log_error(const std::string &message) override
    {
        if (++errors_ <= kLoggedErrors)
            host_.warn("%s", message.c_str());
        if (errors_ == kLoggedErrors)
            host_.warn("%u DMA errors: later ones are not logged (the guest still sees the error bit)",
                       kLoggedErrors);
    }

private:
    static constexpr unsigned kLoggedErrors = 32;
    vmm::sdk::Host host_;
    unsigned errors_ = 0;
};

class FwCfg final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        vmm::sdk::PluginInfo info{"fw-cfg", "1.0.0",
                                  "QEMU fw_cfg: selector 0x510, data 0x511, DMA 0x514; the machine's keys and files",
                                  kKeys, kDefaultRegions};
        info.has_state = true;
        return info;
    }

    explicit FwCfg(const vmm::sdk::DeviceContext &context) : Device(context), dma_(host()), device_(items_, dma_)
    {
        const auto &regions = context.regions();
        if (regions.empty() || regions.size() > 2 || regions[0].space != vmm::sdk::Space::pio || regions[0].size < 2 ||
            (regions.size() == 2 && (regions[1].space != vmm::sdk::Space::pio || regions[1].size < 8)))
            throw vmm::sdk::ConfigError("needs a port range of 2 (selector, data) and optionally one of 8 (DMA)");
        const bool has_dma = regions.size() == 2;
        const std::optional<vmm_machine_info> machine = host().machine_info();
        if (!machine)
            throw vmm::sdk::ConfigError("this host does not tell devices about the machine (needs ABI 1.5)");
        add_standard_keys(*machine, has_dma);
        add_files(context.settings());
    }

    void read(uint32_t region, uint64_t offset, std::span<uint8_t> data) override { device_.read(region, offset, data); }
    void write(uint32_t region, uint64_t offset, std::span<const uint8_t> data) override
    {
        device_.write(region, offset, data);
    }

    std::vector<uint8_t> save_state() override
    {
        const fwcfg::State &s = device_.state();
        vmm::sdk::StateWriter w(kStateFormat, kStateVersion);
        w.u16(s.selector).u64(s.offset).u32(s.dma_high);
        return w.finish();
    }
    void load_state(std::span<const uint8_t> blob) override
    {
        vmm::sdk::StateReader r(blob, kStateFormat, kStateVersion);
        fwcfg::State s;
        s.selector = r.u16();
        s.offset = r.u64();
        s.dma_high = r.u32();
        r.finish();
        device_.set_state(s);
    }

private:
    // A machine blob served piece by piece: the kernel is never copied whole.
    fwcfg::Item blob_item(const char *name, uint64_t size)
    {
        fwcfg::Item item;
        item.size = size;
        const vmm::sdk::Host host = this->host();
        item.reader = [host, name](uint64_t offset, std::span<uint8_t> out) {
            return host.read_machine_blob(name, offset, out.data(), out.size());
        };
        return item;
    }

    void add_standard_keys(const vmm_machine_info &m, bool has_dma)
    {
        using namespace fwcfg;
        items_.set(key::kSignature, Item::of({'Q', 'E', 'M', 'U'}));
        items_.set(key::kId, Item::le32(kIdTraditional | (has_dma ? kIdDma : 0)));
        items_.set(key::kRamSize, Item::le64(m.ram_size));
        items_.set(key::kNoGraphic, Item::le16(1));
        items_.set(key::kNbCpus, Item::le16(static_cast<uint16_t>(m.vcpu_count)));
        items_.set(key::kMaxCpus, Item::le16(static_cast<uint16_t>(m.max_vcpus)));
        items_.set(key::kBootMenu, Item::le16(0));
        items_.set(key::kNuma, Item::le64(0)); // no NUMA nodes
        items_.set(key::kKernelAddr, Item::le32(static_cast<uint32_t>(m.kernel_address)));
        items_.set(key::kKernelSize, Item::le32(static_cast<uint32_t>(m.kernel_size)));
        items_.set(key::kKernelEntry, Item::le32(static_cast<uint32_t>(m.kernel_entry)));
        items_.set(key::kKernelData, blob_item("kernel", m.kernel_size));
        items_.set(key::kInitrdAddr, Item::le32(static_cast<uint32_t>(m.initrd_address)));
        items_.set(key::kInitrdSize, Item::le32(static_cast<uint32_t>(m.initrd_size)));
        items_.set(key::kInitrdData, blob_item("initrd", m.initrd_size));
        // The VMM puts no separate command line in RAM (a multiboot kernel
        // finds it in its information block): its address reads as 0.
        items_.set(key::kKernelCmdline, Item::le32(0));
        items_.set(key::kCmdlineAddr, Item::le32(0));
        items_.set(key::kCmdlineSize, Item::le32(static_cast<uint32_t>(m.cmdline_size)));
        items_.set(key::kCmdlineData, blob_item("cmdline", m.cmdline_size));
        items_.set(key::kSetupAddr, Item::le32(0)); // no Linux setup header: not a bzImage loader
        items_.set(key::kSetupSize, Item::le32(0));
    }

    void add_files(const vmm::sdk::Settings &settings)
    {
        std::vector<fwcfg::FileSlot> slots(fwcfg::kSlots);
        for (int i = 0; i < fwcfg::kSlots; ++i) {
            const std::string prefix = "file" + std::to_string(i + 1);
            slots[static_cast<std::size_t>(i)] = {settings.get_string(prefix + "_name"),
                                                  settings.get_string(prefix + "_path"),
                                                  settings.get_string(prefix + "_text")};
        }
        const int64_t max_size = settings.get_int(kMaxFileSizeKey).value();
        if (max_size < 0 || static_cast<uint64_t>(max_size) > fwcfg::kLargestMaxFileSize)
            throw vmm::sdk::ConfigError("max_file_size must be 0 to " + std::to_string(fwcfg::kLargestMaxFileSize) +
                                        " bytes, got " + std::to_string(max_size));
        const std::filesystem::path machine_file = host().machine_blob_text("machine_file").c_str();
        try {
            items_.set_files(
                fwcfg::collect_files(slots, machine_file.parent_path(), static_cast<uint64_t>(max_size)));
        } catch (const std::runtime_error &e) {
            throw vmm::sdk::ConfigError(e.what());
        }
    }

    fwcfg::ItemTable items_;
    HostDma dma_;
    fwcfg::Device device_;
};

} // namespace

VMM_PLUGIN(FwCfg)
