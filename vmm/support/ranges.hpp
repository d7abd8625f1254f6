// Whether one address range lies wholly inside another: the one spelling of
// that check for every range a guest, an image or a machine file gives.
#pragma once

#include <cstdint>

namespace vmm {

// [address, address + length) inside [base, base + size). Never overflows,
// whatever the values: no sum of two of them is ever formed. The start must
// be inside the range even when length is 0.
constexpr bool lies_within(uint64_t address, uint64_t length, uint64_t base, uint64_t size)
{
    return address >= base && address - base < size && length <= size - (address - base);
}

} // namespace vmm
