#include "fw_cfg_items.hpp"

#include <algorithm>
#include <cstring>

namespace fwcfg {
namespace {

std::vector<uint8_t> little_endian(uint64_t value, std::size_t bytes)
{
    std::vector<uint8_t> out(bytes);
    for (std::size_t i = 0; i < bytes; ++i)
        out[i] = static_cast<uint8_t>(value >> (8 * i));
    return out;
}

void put_be(std::vector<uint8_t> &out, std::size_t at, uint64_t value, std::size_t bytes)
{
    for (std::size_t i = 0; i < bytes; ++i)
        out[at + i] = static_cast<uint8_t>(value >> (8 * (bytes - 1 - i)));
}

} // namespace

Item Item::of(std::vector<uint8_t> bytes)
{
    Item item;
    item.size = bytes.size();
    item.bytes = std::move(bytes);
    return item;
}

Item Item::le16(uint16_t value) { return of(little_endian(value, 2)); }
Item Item::le32(uint32_t value) { return of(little_endian(value, 4)); }
Item Item::le64(uint64_t value) { return of(little_endian(value, 8)); }

bool Item::read(uint64_t offset, std::span<uint8_t> out) const
{
    if (offset > size || out.size() > size - offset)
        return false;
    if (reader)
        return reader(offset, out);
    std::memcpy(out.data(), bytes.data() + offset, out.size());
    return true;
}

std::optional<std::string> check_file_name(const std::string &name)
{
    if (name.empty())
        return "a file name cannot be empty";
    if (name.size() >= kFileNameSize)
        return "a file name has at most " + std::to_string(kFileNameSize - 1) + " bytes, this one " +
               std::to_string(name.size());
    if (name.front() == '/')
        return "a file name does not start with '/'";
    for (const char c : name) {
        if (c < 0x21 || c > 0x7e)
            return "a file name is printable ASCII without spaces";
    }
    return std::nullopt;
}

void ItemTable::set_files(std::vector<NamedFile> files)
{
    std::sort(files.begin(), files.end(), [](const NamedFile &a, const NamedFile &b) { return a.name < b.name; });
    std::vector<uint8_t> dir(4 + kDirEntrySize * files.size(), 0);
    put_be(dir, 0, files.size(), 4);
    for (std::size_t i = 0; i < files.size(); ++i) {
        const std::size_t at = 4 + kDirEntrySize * i;
        const uint16_t select = static_cast<uint16_t>(key::kFileFirst + i);
        put_be(dir, at, files[i].item.size, 4);
        put_be(dir, at + 4, select, 2);
        std::memcpy(dir.data() + at + 8, files[i].name.data(), std::min(files[i].name.size(), kFileNameSize - 1));
        items_[select] = std::move(files[i].item);
    }
    items_[key::kFileDir] = Item::of(std::move(dir));
}

const Item *ItemTable::find(uint16_t key) const
{
    const auto found = items_.find(key);
    return found == items_.end() ? nullptr : &found->second;
}

} // namespace fwcfg
