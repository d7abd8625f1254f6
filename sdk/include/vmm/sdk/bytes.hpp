// vmm/sdk/bytes.hpp - little-endian access data, as guests see it on x86.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vmm::sdk {

// The access's bytes as an unsigned value (size <= 8).
inline uint64_t load_le(std::span<const uint8_t> bytes) noexcept
{
    uint64_t value = 0;
    for (std::size_t i = 0; i < bytes.size() && i < 8; ++i)
        value |= uint64_t{bytes[i]} << (8 * i);
    return value;
}

// Fill the access's bytes from a value, truncating to the access size.
inline void store_le(std::span<uint8_t> bytes, uint64_t value) noexcept
{
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = i < 8 ? static_cast<uint8_t>(value >> (8 * i)) : 0;
}

} // namespace vmm::sdk
