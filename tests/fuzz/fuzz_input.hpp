// Reading fuzzer input as a stream of little integers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fuzz {

// The next `bytes` (at most 8) bytes of the input as a little-endian integer,
// zero-padded when the input runs out; advances past them.
inline uint64_t take(const uint8_t *&data, size_t &size, size_t bytes)
{
    uint64_t value = 0;
    const size_t n = bytes < size ? bytes : size;
    std::memcpy(&value, data, n);
    data += n;
    size -= n;
    return value;
}

} // namespace fuzz
