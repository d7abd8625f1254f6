// crc32: an example device plugin, built out of the vmm tree against the
// installed SDK alone. The guest hands it a buffer in guest memory; it
// answers with the buffer's CRC-32 (IEEE 802.3, as zlib computes it).
//
// State: an example, but complete: every value the guest gives is checked.
// Missing: DMA completion interrupts (the result is ready at once).
// Documentation: this file; the CRC is the reflected polynomial 0xEDB88320.
//
// Registers (MMIO or port I/O, one region of at least 0x18 bytes):
//   0x00 u64  R/W  buffer address (guest-physical)
//   0x08 u32  R/W  buffer length in bytes (at most `max_length`)
//   0x0c u32  W    any write: compute the CRC of [address, address + length)
//   0x10 u32  R    the CRC of the last computation
//   0x14 u32  R    status: 0 ok, 1 the buffer is not in guest RAM, 2 too long
#include <vmm/sdk.hpp>

#include <array>
#include <cstdint>
#include <vector>

namespace {

constexpr std::array kKeys = {
    vmm::sdk::int_key("max_length", "largest buffer the guest may ask for, in bytes (default 1 MiB)"),
};

uint32_t crc32(const uint8_t *data, std::size_t size)
{
    uint32_t crc = 0xffffffffu;
    for (std::size_t i = 0; i < size; ++i) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

class Crc32 final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        vmm::sdk::PluginInfo info{"crc32", "1.0.0", "computes the CRC-32 of a buffer in guest memory", kKeys, {}};
        info.has_state = true;
        return info;
    }

    explicit Crc32(const vmm::sdk::DeviceContext &context)
        : Device(context), max_length_(static_cast<uint64_t>(context.settings().get_int("max_length", 1 << 20)))
    {
        if (context.regions().size() != 1 || context.regions()[0].size < 0x18)
            throw vmm::sdk::ConfigError("needs one region of at least 0x18 bytes");
        if (max_length_ == 0 || max_length_ > (64u << 20))
            throw vmm::sdk::ConfigError("max_length must be between 1 and 64 MiB");
    }

    void read(uint32_t, uint64_t offset, std::span<uint8_t> data) override
    {
        uint64_t value = 0;
        switch (offset) {
        case 0x00: value = address_; break;
        case 0x08: value = length_; break;
        case 0x10: value = result_; break;
        case 0x14: value = status_; break;
        default: break;
        }
        vmm::sdk::store_le(data, value);
    }

    void write(uint32_t, uint64_t offset, std::span<const uint8_t> data) override
    {
        const uint64_t value = vmm::sdk::load_le(data);
        switch (offset) {
        case 0x00: address_ = value; break;
        case 0x08: length_ = static_cast<uint32_t>(value); break;
        case 0x0c: compute(); break;
        default: break;
        }
    }

    std::vector<uint8_t> save_state() override
    {
        return vmm::sdk::StateWriter("crc32", 1).u64(address_).u32(length_).u32(result_).u32(status_).finish();
    }
    void load_state(std::span<const uint8_t> blob) override
    {
        vmm::sdk::StateReader r(blob, "crc32", 1);
        const uint64_t address = r.u64();
        const uint32_t length = r.u32(), result = r.u32(), status = r.u32();
        r.finish();
        address_ = address, length_ = length, result_ = result, status_ = status;
    }

private:
    void compute()
    {
        if (length_ > max_length_) {
            status_ = 2;
            host().warn("buffer of %u bytes is longer than max_length %llu", length_,
                        static_cast<unsigned long long>(max_length_));
            return;
        }
        // Copy out of guest memory first: the guest may change it meanwhile.
        std::vector<uint8_t> bytes(length_);
        if (!host().read_guest(address_, bytes.data(), bytes.size())) {
            status_ = 1;
            host().warn("buffer %#llx (+%u) is not in guest RAM", static_cast<unsigned long long>(address_), length_);
            return;
        }
        result_ = crc32(bytes.data(), bytes.size());
        status_ = 0;
        host().debug("crc32 of %u bytes = %#010x", length_, result_);
    }

    uint64_t max_length_;
    uint64_t address_ = 0;
    uint32_t length_ = 0;
    uint32_t result_ = 0;
    uint32_t status_ = 0;
};

} // namespace

VMM_PLUGIN(Crc32)
