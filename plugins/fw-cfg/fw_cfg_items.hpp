// fw_cfg's items: what each selector key reads as (QEMU docs/specs/fw_cfg.rst).
// An item is a size and a way to copy any part of it out: owned bytes for
// the small ones, a reader for the big ones (the kernel image), which are
// then never copied whole.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fwcfg {

// Selector keys (QEMU include/standard-headers/linux/qemu_fw_cfg.h).
namespace key {
constexpr uint16_t kSignature = 0x00, kId = 0x01, kUuid = 0x02, kRamSize = 0x03, kNoGraphic = 0x04, kNbCpus = 0x05,
                   kMachineId = 0x06, kKernelAddr = 0x07, kKernelSize = 0x08, kKernelCmdline = 0x09,
                   kInitrdAddr = 0x0a, kInitrdSize = 0x0b, kBootDevice = 0x0c, kNuma = 0x0d, kBootMenu = 0x0e,
                   kMaxCpus = 0x0f, kKernelEntry = 0x10, kKernelData = 0x11, kInitrdData = 0x12,
                   kCmdlineAddr = 0x13, kCmdlineSize = 0x14, kCmdlineData = 0x15, kSetupAddr = 0x16,
                   kSetupSize = 0x17, kSetupData = 0x18, kFileDir = 0x19, kFileFirst = 0x20;
constexpr uint16_t kWrite = 0x4000;     // the (obsolete) write channel bit of the selector
constexpr uint16_t kArchLocal = 0x8000; // the architecture's own keys
constexpr uint16_t kEntryMask = 0x3fff; // ~(kWrite | kArchLocal)
constexpr uint16_t kInvalid = 0xffff;
} // namespace key

constexpr uint32_t kIdTraditional = 0x1, kIdDma = 0x2; // FW_CFG_ID bits
constexpr std::size_t kFileNameSize = 56;              // with its NUL
constexpr std::size_t kDirEntrySize = 64;              // be32 size, be16 select, be16 reserved, name

struct Item {
    uint64_t size = 0;
    std::vector<uint8_t> bytes; // or, when `reader` is set, read through it
    // Copies item bytes [offset, offset + out.size()) (always inside the
    // item) into `out`; false: they cannot be had (the device then reads
    // zeros and logs it).
    std::function<bool(uint64_t offset, std::span<uint8_t> out)> reader;

    static Item of(std::vector<uint8_t> bytes);
    static Item le16(uint16_t value);
    static Item le32(uint32_t value);
    static Item le64(uint64_t value);
    bool read(uint64_t offset, std::span<uint8_t> out) const;
};

struct NamedFile {
    std::string name; // checked: see check_file_name
    Item item;
};

// Why `name` cannot name a fw_cfg file, or nothing: 1 to 55 bytes of
// printable ASCII, not starting with '/'.
std::optional<std::string> check_file_name(const std::string &name);

class ItemTable {
public:
    void set(uint16_t key, Item item) { items_[key] = std::move(item); }
    // Adds the files, sorted by name, at keys kFileFirst.., and the file
    // directory (kFileDir) listing them. Names must be unique and checked.
    void set_files(std::vector<NamedFile> files);
    const Item *find(uint16_t key) const;

private:
    std::map<uint16_t, Item> items_;
};

} // namespace fwcfg
