// The fw_cfg register protocol (QEMU docs/specs/fw_cfg.rst, x86 port I/O):
//   region 0 (port 0x510, 2 bytes): a 16-bit write at 0x510 selects an
//     item; each 1-byte read of 0x511 returns its next byte (0 past its end);
//   region 1 (port 0x514, 8 bytes, optional): the DMA interface. The guest
//     writes the guest-physical address of a descriptor, big-endian, as two
//     32-bit halves (0x514 high, then 0x518 low, which starts the transfer)
//     or as one 64-bit write at 0x514; reads return "QEMU CFG".
// A DMA descriptor is { be32 control; be32 length; be64 address }; the
// device writes control back: 0 when done, the error bit on failure.
// Every guest address and length goes through GuestDma, which refuses
// anything outside guest RAM; a transfer ends on the first refusal.
// No state but the selector, the offset in the item and the high half of
// the DMA address (what save/load move).
#pragma once

#include "fw_cfg_items.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace fwcfg {

namespace dma {
constexpr uint32_t kError = 0x01, kRead = 0x02, kSkip = 0x04, kSelect = 0x08, kWrite = 0x10;
constexpr uint64_t kSignature = 0x51454d5520434647ull; // "QEMU CFG", big-endian
constexpr uint64_t kDescriptorSize = 16;
} // namespace dma

// Guest memory as the device may touch it: false when any byte of the range
// is not guest RAM (nothing copied then).
struct GuestDma {
    virtual ~GuestDma() = default;
    virtual bool read(uint64_t gpa, void *buffer, uint64_t size) = 0;
    virtual bool write(uint64_t gpa, const void *buffer, uint64_t size) = 0;
    virtual void log_error(const std::string &message) = 0;
};

constexpr std::size_t kDmaChunk = 64 * 1024;

struct State {
    uint16_t selector = key::kInvalid;
    uint64_t offset = 0;
    uint32_t dma_high = 0;
};

class Device {
public:
    Device(const ItemTable &items, GuestDma &memory) : items_(items), memory_(memory) {}

    void read(uint32_t region, uint64_t offset, std::span<uint8_t> data);
    void write(uint32_t region, uint64_t offset, std::span<const uint8_t> data);

    void select(uint16_t selector);
    uint8_t read_data_byte();
    // Runs the descriptor at `descriptor` (guest-physical). Returns the
    // control word written back (0, or dma::kError).
    uint32_t run_dma(uint64_t descriptor);

    const State &state() const { return state_; }
    void set_state(const State &state) { state_ = state; }

private:
    const Item *current() const;
    // One DMA read, skip or write of `length` bytes at `address`: the control
    // word's result (0 or dma::kError).
    uint32_t transfer(uint32_t op, uint64_t address, uint64_t length);

    const ItemTable &items_;
    GuestDma &memory_;
    State state_;
    std::vector<uint8_t> buffer_ = std::vector<uint8_t>(kDmaChunk); // DMA copies go through it, step by step
};

} // namespace fwcfg
