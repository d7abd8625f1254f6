// libFuzzer target: the address space against a brute-force model. The
// input is a list of operations; every insert must succeed exactly when the
// range is non-empty, inside the space and overlaps nothing, and every
// lookup must find what a linear scan finds, with the right offset.
#include "fuzz_input.hpp"
#include "bus/address_space.hpp"
#include "support/errors.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

struct Range {
    uint64_t base, size;
};

} // namespace

using fuzz::take;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const vmm::Space space = (data[0] & 1) ? vmm::Space::mmio : vmm::Space::pio;
    ++data, --size;
    vmm::AddressSpace map(space);
    std::vector<Range> model;
    const uint64_t max = map.max_address();

    while (size > 0) {
        const uint8_t op = static_cast<uint8_t>(take(data, size, 1));
        // Small numbers make collisions likely; the top bit spreads them out.
        uint64_t base = take(data, size, 2), length = take(data, size, 1);
        if (op & 0x80)
            base = ~base, length = take(data, size, 8);
        if ((op & 1) == 0) {
            bool expect_ok = length != 0 && base <= max && length - 1 <= max - base;
            for (const Range &r : model)
                expect_ok = expect_ok && (base + (length - 1) < r.base || r.base + (r.size - 1) < base);
            vmm::Mapping m;
            m.base = base;
            m.size = length;
            m.owner = "d";
            m.device = static_cast<uint32_t>(model.size());
            bool ok = true;
            try {
                map.insert(m);
            } catch (const vmm::InputError &) {
                ok = false;
            }
            if (ok != expect_ok)
                std::abort();
            if (ok)
                model.push_back({base, length});
        } else {
            const uint32_t access = 1u << (op >> 1 & 3);
            const auto hit = map.find(base, access);
            const Range *expected = nullptr;
            for (const Range &r : model) {
                if (base >= r.base && base - r.base < r.size && access <= r.size - (base - r.base))
                    expected = &r;
            }
            if ((hit.has_value()) != (expected != nullptr))
                std::abort();
            if (hit && (hit->mapping->base != expected->base || hit->offset != base - expected->base))
                std::abort();
        }
    }
    return 0;
}
