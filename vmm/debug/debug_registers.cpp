#include "debug/debug_registers.hpp"

#include <fmt/format.h>

namespace vmm::gdb {
namespace {

bool is_watchpoint(PointType type) { return type == PointType::write || type == PointType::read || type == PointType::access; }

// DR7's R/W field: 00 execute, 01 write, 11 read or write (x86 has no
// read-only watchpoint: a read watchpoint also fires on writes, and gdb
// tells them apart by the value).
uint64_t rw_bits(PointType type)
{
    switch (type) {
    case PointType::write: return 1;
    case PointType::read:
    case PointType::access: return 3;
    default: return 0;
    }
}

uint64_t len_bits(uint64_t length)
{
    switch (length) {
    case 2: return 1;
    case 8: return 2;
    case 4: return 3;
    default: return 0;
    }
}

} // namespace

std::optional<std::string> DebugRegisters::insert(PointType type, uint64_t address, uint64_t length)
{
    const uint64_t size = is_watchpoint(type) ? length : 1;
    if (is_watchpoint(type)) {
        if (length != 1 && length != 2 && length != 4 && length != 8)
            return fmt::format("a watchpoint covers 1, 2, 4 or 8 bytes, not {}", length);
        if (address % length != 0)
            return fmt::format("a {}-byte watchpoint must be aligned to {} bytes ({:#x} is not)", length, length,
                               address);
    }
    for (const DebugSlot &s : slots_) {
        if (s.used && s.type == type && s.address == address && s.length == size)
            return std::nullopt;
    }
    for (DebugSlot &s : slots_) {
        if (!s.used) {
            s = DebugSlot{true, type, address, size};
            return std::nullopt;
        }
    }
    return fmt::format("all {} debug registers are in use (breakpoints and watchpoints share them)", kSlots);
}

bool DebugRegisters::remove(PointType type, uint64_t address, uint64_t length)
{
    const uint64_t size = is_watchpoint(type) ? length : 1;
    for (DebugSlot &s : slots_) {
        if (s.used && s.type == type && s.address == address && s.length == size) {
            s = DebugSlot{};
            return true;
        }
    }
    return false;
}

bool DebugRegisters::empty() const
{
    for (const DebugSlot &s : slots_) {
        if (s.used)
            return false;
    }
    return true;
}

uint64_t DebugRegisters::dr7() const
{
    uint64_t value = 0;
    for (std::size_t i = 0; i < kSlots; ++i) {
        const DebugSlot &s = slots_[i];
        if (!s.used)
            continue;
        value |= 1ull << (2 * i); // Li
        value |= rw_bits(s.type) << (16 + 4 * i);
        value |= len_bits(s.length) << (18 + 4 * i);
    }
    if (value != 0)
        value |= 1ull << 9; // GE: exact data breakpoints
    return value;
}

std::array<uint64_t, DebugRegisters::kSlots> DebugRegisters::addresses() const
{
    std::array<uint64_t, kSlots> out{};
    for (std::size_t i = 0; i < kSlots; ++i)
        out[i] = slots_[i].used ? slots_[i].address : 0;
    return out;
}

std::optional<std::size_t> DebugRegisters::triggered(uint64_t dr6) const
{
    for (std::size_t i = 0; i < kSlots; ++i) {
        if ((dr6 >> i & 1) != 0 && slots_[i].used)
            return i;
    }
    return std::nullopt;
}

} // namespace vmm::gdb
