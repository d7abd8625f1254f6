#include "bus/address_space.hpp"

#include "support/errors.hpp"
#include "support/ranges.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace vmm {

const char *space_name(Space space) { return space == Space::pio ? "pio" : "mmio"; }

std::string describe_range(Space space, uint64_t base, uint64_t size)
{
    if (size == 0)
        return fmt::format("{} {:#x} (empty)", space_name(space), base);
    return fmt::format("{} {:#x}-{:#x}", space_name(space), base, base + (size - 1));
}

AddressSpace::AddressSpace(Space space) : space_(space) {}

uint64_t AddressSpace::max_address() const
{
    return space_ == Space::pio ? 0xffff : std::numeric_limits<uint64_t>::max();
}

void AddressSpace::insert(Mapping m)
{
    if (frozen_)
        throw SystemError("address space changed after it was frozen");
    const std::string what = fmt::format("device '{}': {} range at {:#x}", m.owner, space_name(space_), m.base);
    if (m.size == 0)
        throw InputError(m.where, what + " is empty (size 0)");
    if (m.base > max_address() || m.size - 1 > max_address() - m.base) {
        throw InputError(m.where, fmt::format("{} with size {:#x} runs past the end of the {} space ({:#x})", what,
                                              m.size, space_name(space_), max_address()));
    }

    auto clash = [&](const Mapping &other) {
        const std::string other_where = other.where.known() ? " (declared at " + other.where.str() + ")" : "";
        return InputError(m.where, fmt::format("device '{}' {} overlaps device '{}' {}{}", m.owner,
                                               describe_range(space_, m.base, m.size), other.owner,
                                               describe_range(space_, other.base, other.size), other_where));
    };
    auto next = std::lower_bound(sorted_.begin(), sorted_.end(), m.base,
                                 [](const Mapping &existing, uint64_t base) { return existing.base < base; });
    if (next != sorted_.end() && next->base <= m.last())
        throw clash(*next);
    if (next != sorted_.begin() && std::prev(next)->last() >= m.base)
        throw clash(*std::prev(next));
    sorted_.insert(next, std::move(m));
}

void AddressSpace::freeze() { frozen_ = true; }

std::optional<AddressSpace::Hit> AddressSpace::find(uint64_t address, uint32_t size) const
{
    // The last mapping whose base is <= address.
    auto after = std::upper_bound(sorted_.begin(), sorted_.end(), address,
                                  [](uint64_t a, const Mapping &m) { return a < m.base; });
    if (after == sorted_.begin() || size == 0)
        return std::nullopt;
    const Mapping &m = *std::prev(after);
    // An access that starts inside but runs past the range is not the
    // device's: it is never asked to handle bytes outside its range.
    if (!lies_within(address, size, m.base, m.size))
        return std::nullopt;
    return Hit{&m, address - m.base};
}

} // namespace vmm
