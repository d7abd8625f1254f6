// The files a machine file adds to fw_cfg's directory, from the device's
// settings: slot N (1..kSlots) is `fileN_name` with either `fileN_path` (a
// host file, relative to the machine file's directory) or `fileN_text` (its
// bytes inline). Every problem is found here, at create time.
#pragma once

#include "fw_cfg_items.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace fwcfg {

constexpr int kSlots = 8;
constexpr uint64_t kDefaultMaxFileSize = 16u << 20; // the `max_file_size` setting's default
constexpr uint64_t kLargestMaxFileSize = 1u << 30;  // and its largest value

struct FileSlot {
    std::optional<std::string> name, path, text;
};

// Reads a host file whole, or throws std::runtime_error saying why
// (missing, not a regular file, larger than `limit`).
using HostFileReader = std::function<std::vector<uint8_t>(const std::filesystem::path &, uint64_t limit)>;
std::vector<uint8_t> read_host_file(const std::filesystem::path &file, uint64_t limit);

// Throws std::runtime_error naming the setting at fault.
// No file may pass `max_size` bytes: the VMM holds every file in memory.
std::vector<NamedFile> collect_files(const std::vector<FileSlot> &slots, const std::filesystem::path &base_dir,
                                     uint64_t max_size = kDefaultMaxFileSize,
                                     const HostFileReader &read = read_host_file);

} // namespace fwcfg
