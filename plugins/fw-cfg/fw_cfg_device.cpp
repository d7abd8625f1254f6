#include "fw_cfg_device.hpp"

#include <algorithm>
#include <array>

namespace fwcfg {
namespace {

uint64_t load_be(std::span<const uint8_t> bytes)
{
    uint64_t value = 0;
    for (const uint8_t b : bytes)
        value = (value << 8) | b;
    return value;
}

std::string hex(uint64_t value)
{
    char text[24];
    std::snprintf(text, sizeof text, "%#llx", static_cast<unsigned long long>(value));
    return text;
}

} // namespace

const Item *Device::current() const
{
    if (state_.selector == key::kInvalid)
        return nullptr;
    // The architecture's own keys (ACPI tables, E820...) are not provided:
    // selecting one reads as an empty item.
    if ((state_.selector & key::kArchLocal) != 0)
        return nullptr;
    return items_.find(static_cast<uint16_t>(state_.selector & key::kEntryMask));
}

void Device::select(uint16_t selector)
{
    state_.selector = selector;
    state_.offset = 0;
}

uint8_t Device::read_data_byte()
{
    const Item *item = current();
    if (item == nullptr || state_.offset >= item->size)
        return 0;
    uint8_t byte = 0;
    if (!item->read(state_.offset, {&byte, 1}))
        byte = 0;
    ++state_.offset;
    return byte;
}

void Device::read(uint32_t region, uint64_t offset, std::span<uint8_t> data)
{
    if (region == 0) {
        // 0x511: successive bytes of the item, at any width (as QEMU's MMIO
        // data register); 0x510 (the selector) reads as 0.
        for (uint8_t &byte : data)
            byte = offset == 1 ? read_data_byte() : 0;
        return;
    }
    // The DMA register reads as "QEMU CFG", byte i of the signature at 0x514+i.
    for (std::size_t i = 0; i < data.size(); ++i) {
        const uint64_t at = offset + i;
        data[i] = at < 8 ? static_cast<uint8_t>(dma::kSignature >> (8 * (7 - at))) : 0;
    }
}

void Device::write(uint32_t region, uint64_t offset, std::span<const uint8_t> data)
{
    if (region == 0) {
        // Only a 16-bit selector write; writes to the data port are ignored
        // (QEMU stopped honouring them in 2.4).
        if (offset == 0 && data.size() == 2)
            select(static_cast<uint16_t>(data[0] | (data[1] << 8)));
        return;
    }
    if (offset == 0 && data.size() == 4) {
        state_.dma_high = static_cast<uint32_t>(load_be(data));
    } else if (offset == 4 && data.size() == 4) {
        const uint64_t address = (static_cast<uint64_t>(state_.dma_high) << 32) | load_be(data);
        state_.dma_high = 0;
        run_dma(address);
    } else if (offset == 0 && data.size() == 8) {
        state_.dma_high = 0;
        run_dma(load_be(data));
    }
    // Other widths and offsets: ignored, as QEMU does.
}

uint32_t Device::run_dma(uint64_t descriptor)
{
    std::array<uint8_t, dma::kDescriptorSize> raw{};
    if (descriptor > UINT64_MAX - dma::kDescriptorSize || !memory_.read(descriptor, raw.data(), raw.size())) {
        memory_.log_error("DMA descriptor at " + hex(descriptor) + " is not in guest RAM");
        const std::array<uint8_t, 4> error{0, 0, 0, dma::kError};
        memory_.write(descriptor, error.data(), error.size()); // fails too if it is not RAM: nothing to report to
        return dma::kError;
    }
    // Read once: the guest may change the descriptor meanwhile.
    const auto control = static_cast<uint32_t>(load_be({raw.data(), 4}));
    const auto length = static_cast<uint32_t>(load_be({raw.data() + 4, 4}));
    const uint64_t address = load_be({raw.data() + 8, 8});
    if ((control & dma::kSelect) != 0)
        select(static_cast<uint16_t>(control >> 16));
    uint32_t op = 0;
    if ((control & dma::kRead) != 0)
        op = dma::kRead;
    else if ((control & dma::kWrite) != 0)
        op = dma::kWrite;
    else if ((control & dma::kSkip) != 0)
        op = dma::kSkip;
    const uint32_t result = op == 0 ? 0 : transfer(op, address, length);
    const std::array<uint8_t, 4> out{static_cast<uint8_t>(result >> 24), static_cast<uint8_t>(result >> 16),
                                     static_cast<uint8_t>(result >> 8), static_cast<uint8_t>(result)};
    memory_.write(descriptor, out.data(), out.size()); // the descriptor was RAM a moment ago
    return result;
}

uint32_t Device::transfer(uint32_t op, uint64_t address, uint64_t length)
{
    if (length != 0 && address > UINT64_MAX - length) {
        memory_.log_error("DMA of " + std::to_string(length) + " bytes at " + hex(address) +
                          " wraps around the address space");
        return dma::kError;
    }
    if (op == dma::kWrite) {
        // No item is writable: the guest learns it from the error bit.
        memory_.log_error("DMA write to selector " + hex(state_.selector) + " refused: no item is writable");
        return dma::kError;
    }
    const Item *item = current();
    std::vector<uint8_t> &buffer = buffer_;
    while (length > 0) {
        const uint64_t available = item != nullptr && state_.offset < item->size ? item->size - state_.offset : 0;
        const uint64_t step = std::min<uint64_t>(length, buffer.size());
        if (op == dma::kRead) {
            // Past the item's end the guest reads zeros, as in QEMU.
            const uint64_t from_item = std::min(step, available);
            std::fill(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(step), 0);
            if (from_item > 0 && !item->read(state_.offset, {buffer.data(), from_item}))
                memory_.log_error("item " + hex(state_.selector) + " could not be read; the guest reads zeros");
            if (!memory_.write(address, buffer.data(), step)) {
                memory_.log_error("DMA read of " + std::to_string(length) + " bytes to " + hex(address) +
                                  " is not in guest RAM");
                return dma::kError;
            }
        }
        state_.offset += std::min(step, available);
        address += step;
        length -= step;
    }
    return 0;
}

} // namespace fwcfg
