// A machine description, parsed and checked: what the TOML file said, in
// plain types, with the location of everything a later error may point at.
#pragma once

#include "bus/address_space.hpp"
#include "support/source_location.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace vmm {

// The largest RAM we map: it starts at 0 and stays below the 32-bit I/O hole.
inline constexpr uint64_t kMaxMemorySize = 3ull << 30;
inline constexpr uint32_t kMaxVcpus = 64;

enum class CpuMode {
    reset, // the architectural reset state, untouched (CS:IP = f000:fff0)
    real,  // 16-bit real mode, CS base 0
};
const char *cpu_mode_name(CpuMode mode);

enum class ImageType { ram, rom };
enum class ImageFormat { flat };

struct RegisterSetting {
    std::string name; // "rax", "rflags", ...
    uint64_t value = 0;
    SourceLocation where;
};

struct CpuSpec {
    CpuMode mode = CpuMode::real;
    std::optional<uint64_t> entry;
    SourceLocation entry_where;
    std::vector<RegisterSetting> registers;
    SourceLocation where;
};

struct ImageSpec {
    std::filesystem::path file; // resolved, existing
    std::string file_as_written;
    std::optional<uint64_t> address;
    ImageType type = ImageType::ram;
    ImageFormat format = ImageFormat::flat;
    std::optional<uint64_t> entry;
    SourceLocation where;
    SourceLocation file_where;
    SourceLocation address_where;
};

using SettingValue = std::variant<bool, int64_t, double, std::string>;
const char *setting_type_name(const SettingValue &value);

struct Setting {
    std::string key;
    SettingValue value;
    SourceLocation where;
};

struct RangeSpec {
    Space space = Space::pio;
    uint64_t base = 0;
    uint64_t size = 0;
    SourceLocation where;
};

struct DeviceSpec {
    std::string name;
    std::string plugin;
    std::vector<RangeSpec> ranges; // empty: the plugin's default ranges
    std::vector<Setting> settings;
    SourceLocation where;
    SourceLocation plugin_where;
};

struct MachineSpec {
    std::filesystem::path file;
    std::string name;
    uint64_t memory_size = 0;
    SourceLocation memory_where;
    uint32_t vcpus = 1;
    bool strict = false; // unhandled I/O is fatal instead of logged
    CpuSpec cpu;
    std::vector<ImageSpec> images;
    std::vector<DeviceSpec> devices;
};

} // namespace vmm
