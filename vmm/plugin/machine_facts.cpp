#include "plugin/machine_facts.hpp"

#include <algorithm>
#include <cstring>

namespace vmm {

MachineBlob MachineBlob::text(std::string bytes)
{
    MachineBlob blob;
    blob.size = bytes.size();
    blob.owned = std::move(bytes);
    return blob;
}

bool MachineBlob::copy(uint64_t offset, void *buffer, uint64_t length) const
{
    if (offset > size || length > size - offset)
        return false;
    if (length == 0)
        return true;
    auto *out = static_cast<uint8_t *>(buffer);
    if (!owned.empty() || pieces.empty()) {
        std::memset(out, 0, length);
        if (offset < owned.size())
            std::memcpy(out, owned.data() + offset, std::min<uint64_t>(length, owned.size() - offset));
        return true;
    }
    std::memset(out, 0, length);
    const uint64_t end = offset + length;
    for (const Piece &piece : pieces) {
        const uint64_t from = std::max(offset, piece.offset);
        const uint64_t to = std::min(end, piece.offset + piece.bytes.size());
        if (from < to)
            std::memcpy(out + (from - offset), piece.bytes.data() + (from - piece.offset), to - from);
    }
    return true;
}

} // namespace vmm
