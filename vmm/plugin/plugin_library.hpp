// One loaded plugin shared object, checked against the ABI.
//
// Loading reads `vmm_plugin_abi_version` before calling any function of the
// plugin (opening it has run its static constructors, which no loader can
// avoid), refuses another major or a newer minor, then asks for the
// descriptor and copies it into zeroed host storage (an older plugin's
// descriptor is shorter: the fields it lacks read as NULL).
#pragma once

#include "plugin/descriptor_limits.hpp"

#include "bus/address_space.hpp"

#include <vmm/plugin_abi.h>

#include <boost/dll/shared_library.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vmm {

struct ConfigKeyInfo {
    std::string name;
    uint32_t type = 0; // VMM_VALUE_*
    std::string description;
    bool required = false;
    uint32_t path_flags = 0; // ABI 1.5: VMM_KEY_PATH_WRITE / VMM_KEY_PATH_READ (a string naming a file)
    bool connects_socket = false; // ABI 1.6: VMM_KEY_SOCKET_CONNECT (a string naming a UNIX socket)
    // ABI 1.6, all checked at load: the default as the plugin wrote it, an
    // inclusive range (integer and float keys), the values a string accepts.
    std::optional<std::string> default_text;
    bool has_range = false;
    int64_t min_value = 0;
    int64_t max_value = 0;
    std::vector<std::string> choices;
};

struct RegionDecl {
    Space space = Space::pio;
    uint64_t base = 0;
    uint64_t size = 0;
};

// An interrupt line the plugin declares (ABI 1.4), in the device's order.
struct IrqDecl {
    uint32_t line = 0;  // the default GSI, or VMM_IRQ_NO_DEFAULT
    uint32_t flags = 0; // VMM_IRQ_LEVEL, VMM_IRQ_SHARED
};

const char *value_type_name(uint32_t type);
std::string abi_version_string(uint32_t version);

class PluginLibrary {
public:
    // Throws InputError naming the file for every way a file can fail to be
    // a usable plugin.
    static std::shared_ptr<PluginLibrary> load(const std::filesystem::path &file);
    // An isolated plugin as its own process described it (never loaded
    // here: isolation/plugin_description.cpp): `raw` is the descriptor
    // rebuilt in vmm's memory from that description, its strings and arrays
    // in `storage` (kept). Checked exactly as load() checks a loaded one;
    // its functions must never be called (an isolated device's proxy
    // replaces them). Throws InputError naming the file.
    static std::shared_ptr<PluginLibrary> described(const std::filesystem::path &file, uint32_t abi_version,
                                                    const vmm_plugin_descriptor *raw,
                                                    std::shared_ptr<const void> storage);
    // Throws InputError (naming `where`) for an ABI version this vmm cannot load.
    static void check_abi_version(const std::string &where, uint32_t version);
    // The same plugin as seen through `proxy`'s functions (an isolated
    // device's: isolation/isolated_plugin.cpp); keeps `inner` loaded.
    static std::shared_ptr<PluginLibrary> with_functions(std::shared_ptr<PluginLibrary> inner,
                                                         const vmm_plugin_descriptor &proxy);
    bool isolated() const { return inner_ != nullptr; }
    ~PluginLibrary();
    PluginLibrary(const PluginLibrary &) = delete;
    PluginLibrary &operator=(const PluginLibrary &) = delete;

    const std::filesystem::path &file() const { return file_; }
    uint32_t abi_version() const { return abi_version_; }
    const vmm_plugin_descriptor &descriptor() const { return descriptor_; }
    const std::string &name() const { return name_; }
    const std::string &version() const { return version_; }
    const std::string &description() const { return description_; }
    const std::vector<ConfigKeyInfo> &config_keys() const { return config_keys_; }
    const ConfigKeyInfo *find_key(const std::string &name) const;
    const std::vector<RegionDecl> &default_regions() const { return default_regions_; }
    // Empty for plugins older than ABI 1.4, which cannot declare lines.
    const std::vector<IrqDecl> &default_irqs() const { return default_irqs_; }
    bool thread_safe() const { return (descriptor_.flags & VMM_PLUGIN_THREAD_SAFE) != 0; }
    bool observes_exits() const { return descriptor_.observe_exit != nullptr; }
    bool needs_vcpu_state() const { return (descriptor_.flags & VMM_PLUGIN_NEEDS_VCPU_STATE) != 0; }

private:
    PluginLibrary() = default;
    void read_descriptor();
    void take_descriptor(const vmm_plugin_descriptor *raw);
    void read_default_irqs(uint32_t raw_descriptor_size);
    void read_key_limits(const vmm_config_key &key, ConfigKeyInfo &info) const;

    std::filesystem::path file_;
    boost::dll::shared_library library_;
    uint32_t abi_version_ = 0;
    vmm_plugin_descriptor descriptor_{};
    std::string name_, version_, description_;
    std::vector<ConfigKeyInfo> config_keys_;
    std::vector<RegionDecl> default_regions_;
    std::vector<IrqDecl> default_irqs_;
    std::shared_ptr<PluginLibrary> inner_; // with_functions: the plugin itself
    std::shared_ptr<const void> described_storage_; // described(): what the descriptor points to
};

} // namespace vmm
