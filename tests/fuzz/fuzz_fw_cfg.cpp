// libFuzzer target: fw_cfg's register protocol and DMA as a hostile guest
// drives them. The input fills 64 KiB of guest RAM (the DMA descriptors the
// guest leaves there), then is a list of accesses: selector writes, data
// reads, DMA address halves and 64-bit writes, at any offset and width.
// Guest RAM is an exact-size buffer, so ASan sees any access outside it;
// every DMA must end (no loop) with a control word of 0 or the error bit.
#include "fuzz_input.hpp"
#include "fw_cfg_device.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

constexpr uint64_t kRamSize = 64 * 1024;

struct Ram final : fwcfg::GuestDma {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(kRamSize);
    bool inside(uint64_t gpa, uint64_t size) const { return gpa <= bytes.size() && size <= bytes.size() - gpa; }
    bool read(uint64_t gpa, void *buffer, uint64_t size) override
    {
        if (!inside(gpa, size))
            return false;
        std::memcpy(buffer, bytes.data() + gpa, size);
        return true;
    }
    bool write(uint64_t gpa, const void *buffer, uint64_t size) override
    {
        if (!inside(gpa, size))
            return false;
        std::memcpy(bytes.data() + gpa, buffer, size);
        return true;
    }
    void log_error(const std::string &) override {}
};

fwcfg::ItemTable make_items()
{
    using namespace fwcfg;
    ItemTable items;
    items.set(key::kSignature, Item::of({'Q', 'E', 'M', 'U'}));
    items.set(key::kId, Item::le32(kIdTraditional | kIdDma));
    items.set(key::kRamSize, Item::le64(kRamSize));
    // A big item served by a reader, like the kernel: it must only ever be
    // asked for bytes inside it.
    Item big;
    big.size = 200000;
    big.reader = [size = big.size](uint64_t offset, std::span<uint8_t> out) {
        if (offset > size || out.size() > size - offset)
            std::abort();
        std::memset(out.data(), static_cast<int>(offset & 0xff), out.size());
        return true;
    };
    items.set(key::kKernelData, std::move(big));
    std::vector<NamedFile> files;
    files.push_back({"etc/a", Item::of({1, 2, 3})});
    files.push_back({"opt/b", Item::of(std::vector<uint8_t>(300, 7))});
    items.set_files(std::move(files));
    return items;
}

} // namespace

using fuzz::take;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const fwcfg::ItemTable items = make_items();
    Ram ram;
    const std::size_t ram_bytes = std::min<std::size_t>(take(data, size, 1) * 64, size);
    std::memcpy(ram.bytes.data(), data, ram_bytes);
    data += ram_bytes;
    size -= ram_bytes;

    fwcfg::Device device(items, ram);
    for (int steps = 0; size > 0 && steps < 256; ++steps) {
        const uint32_t op = static_cast<uint32_t>(take(data, size, 1));
        const uint32_t region = op & 1;
        const uint64_t offset = (op >> 1) & 7;
        const uint32_t width = 1u << ((op >> 4) & 3); // 1, 2, 4 or 8
        const uint64_t limit = region == 0 ? 2 : 8;
        if (offset + width > limit)
            continue; // the host never sends an access past the region
        uint8_t bytes[8] = {};
        if ((op & 0x80) != 0) {
            const uint64_t value = take(data, size, width);
            std::memcpy(bytes, &value, width);
            device.write(region, offset, {bytes, width});
        } else {
            device.read(region, offset, {bytes, width});
        }
        if ((op & 0x40) != 0) {
            const uint32_t result = device.run_dma(take(data, size, 8));
            if (result != 0 && result != fwcfg::dma::kError)
                std::abort();
        }
    }
    return 0;
}
