#include "plugin/plugin_library.hpp"

#include "plugin/key_limits.hpp"

#include "plugin/plugin_call.hpp"
#include "plugin/plugin_crash.hpp"
#include "support/errors.hpp"
#include "support/escape.hpp"
#include "support/utf8.hpp"

#include <boost/dll/shared_library_load_mode.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>
#include <set>
#include <string_view>

namespace vmm {
namespace {

// Copy a struct the plugin filled, honouring its struct_size (see the ABI).
template <typename T>
T copy_sized(const T *source, uint32_t min_size)
{
    T copy{};
    const uint32_t size = source->struct_size;
    if (size < min_size)
        throw std::length_error("struct_size " + std::to_string(size) + " is smaller than " + std::to_string(min_size));
    std::memcpy(&copy, source, std::min<std::size_t>(size, sizeof(T)));
    copy.struct_size = static_cast<uint32_t>(sizeof(T));
    return copy;
}

// One element's struct_size, the stride to the next (descriptor_limits.hpp).
uint32_t checked_stride(uint32_t size, uint32_t min_size, const std::string &what)
{
    if (!usable_stride(size, min_size))
        throw std::invalid_argument(fmt::format("{}: struct_size {} must be a multiple of 8 from {} to {}", what, size,
                                                min_size, kMaxStride));
    return size;
}

// A plugin string must be there, be of sane length and be UTF-8 (it is
// printed, and written into JSON by `vmm plugins --json` and the control
// socket).
std::string checked_string(const char *text, const std::string &what, bool required)
{
    if (text == nullptr) {
        if (required)
            throw std::invalid_argument(what + " is NULL");
        return {};
    }
    const std::size_t length = ::strnlen(text, kMaxPluginString);
    if (length == kMaxPluginString)
        throw std::invalid_argument(
            fmt::format("{} is not a terminated string of under {} bytes", what, kMaxPluginString));
    std::string copy(text, length);
    if (const auto at = invalid_utf8_at(copy))
        throw std::invalid_argument(fmt::format("{} is not valid UTF-8 (byte {:#04x} at offset {})", what,
                                                static_cast<unsigned char>(copy[*at]), *at));
    return copy;
}

// Boost wraps dlerror() in "...(dlerror system message: TEXT): errno text";
// the dlerror part is the one that explains the problem.
std::string dlerror_text(const std::string &what)
{
    const std::string marker = "dlerror system message: ";
    const auto start = what.find(marker);
    const auto end = what.rfind("):");
    if (start == std::string::npos || end == std::string::npos || end < start)
        return what;
    return what.substr(start + marker.size(), end - start - marker.size());
}

} // namespace

const char *value_type_name(uint32_t type)
{
    switch (type) {
    case VMM_VALUE_BOOL: return "boolean";
    case VMM_VALUE_INT: return "integer";
    case VMM_VALUE_FLOAT: return "float";
    case VMM_VALUE_STRING: return "string";
    default: return "unknown";
    }
}

std::string abi_version_string(uint32_t version)
{
    return fmt::format("{}.{}", VMM_ABI_VERSION_MAJOR(version), VMM_ABI_VERSION_MINOR(version));
}

std::shared_ptr<PluginLibrary> PluginLibrary::load(const std::filesystem::path &file)
{
    const std::string where = file.string();
    std::error_code ec;
    if (!std::filesystem::exists(file, ec))
        throw InputError(fmt::format("plugin file {} does not exist", where));
    if (!std::filesystem::is_regular_file(file, ec))
        throw InputError(fmt::format("plugin file {} is not a regular file", where));

    std::shared_ptr<PluginLibrary> plugin(new PluginLibrary());
    plugin->file_ = file;
    try {
        plugin->library_.load(boost::dll::fs::path(file.string()),
                              boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const boost::dll::fs::system_error &error) { // std::system_error (BOOST_DLL_USE_STD_FS)
        throw InputError(fmt::format("{} is not a loadable shared object: {}", where, dlerror_text(error.what())));
    }

    if (!plugin->library_.has(VMM_PLUGIN_ABI_VERSION_SYMBOL))
        throw InputError(fmt::format("{} is not a vmm plugin: it does not export {}", where,
                                     VMM_PLUGIN_ABI_VERSION_SYMBOL));
    // Read before anything in the plugin is called.
    const uint32_t version = plugin->library_.get<const uint32_t>(VMM_PLUGIN_ABI_VERSION_SYMBOL);
    plugin->abi_version_ = version;
    check_abi_version(where, version);

    if (!plugin->library_.has(VMM_PLUGIN_DESCRIBE_SYMBOL))
        throw InputError(fmt::format("{}: plugin ABI {} but no entry point {}", where, abi_version_string(version),
                                     VMM_PLUGIN_DESCRIBE_SYMBOL));
    try {
        plugin->read_descriptor();
    } catch (const InputError &) {
        throw;
    } catch (const std::exception &error) {
        throw InputError(fmt::format("{}: malformed plugin descriptor: {}", where, error.what()));
    }
    return plugin;
}

void PluginLibrary::check_abi_version(const std::string &where, uint32_t version)
{
    if (VMM_ABI_VERSION_MAJOR(version) != VMM_ABI_MAJOR)
        throw InputError(fmt::format("{}: plugin ABI {} is incompatible with this vmm's ABI {} (the major versions "
                                     "differ); rebuild the plugin against this SDK",
                                     where, abi_version_string(version), abi_version_string(VMM_ABI_VERSION)));
    if (VMM_ABI_VERSION_MINOR(version) > VMM_ABI_MINOR)
        throw InputError(fmt::format("{}: plugin ABI {} is newer than this vmm's ABI {}; upgrade vmm or build the "
                                     "plugin against SDK {}",
                                     where, abi_version_string(version), abi_version_string(VMM_ABI_VERSION),
                                     abi_version_string(VMM_ABI_VERSION)));
}

std::shared_ptr<PluginLibrary> PluginLibrary::described(const std::filesystem::path &file, uint32_t abi_version,
                                                        const vmm_plugin_descriptor *raw,
                                                        std::shared_ptr<const void> storage)
{
    check_abi_version(file.string(), abi_version);
    std::shared_ptr<PluginLibrary> plugin(new PluginLibrary());
    plugin->file_ = file;
    plugin->abi_version_ = abi_version;
    plugin->described_storage_ = std::move(storage);
    try {
        plugin->take_descriptor(raw);
    } catch (const InputError &) {
        throw;
    } catch (const std::exception &error) {
        throw InputError(fmt::format("{}: malformed plugin descriptor: {}", file.string(), error.what()));
    }
    return plugin;
}

void PluginLibrary::read_descriptor()
{
    const auto describe = library_.get<const vmm_plugin_descriptor *()>(VMM_PLUGIN_DESCRIBE_SYMBOL);
    // Before the first call into it: a crash from here on names the file.
    record_plugin_range(file_.filename().string(), file_, reinterpret_cast<const void *>(describe));
    const vmm_plugin_descriptor *raw = nullptr;
    if (const auto thrown = call_plugin([&] { raw = describe(); }))
        throw InputError(fmt::format("{}: {}() {}: {}", file_.string(), VMM_PLUGIN_DESCRIBE_SYMBOL, kThrewAcrossAbi,
                                     *thrown));
    if (raw == nullptr)
        throw std::invalid_argument(std::string(VMM_PLUGIN_DESCRIBE_SYMBOL) + "() returned NULL");
    // A crash in the checks below (a pointer into nowhere) names the file;
    // once the name is known, the plugin.
    take_descriptor(raw);
    name_plugin_range(reinterpret_cast<const void *>(describe), name_);
}

// The descriptor a plugin handed over (or its own process described), checked
// and copied: everything in it is the plugin's word, possibly hostile.
void PluginLibrary::take_descriptor(const vmm_plugin_descriptor *raw)
{
    const uint32_t raw_size = raw->struct_size;
    descriptor_ = copy_sized(raw, kMinDescriptorSize);

    name_ = checked_string(descriptor_.name, "name", true);
    if (name_.empty())
        throw std::invalid_argument("name is empty");
    version_ = checked_string(descriptor_.version, "version", false);
    description_ = checked_string(descriptor_.description, "description", false);
    if (descriptor_.create == nullptr || descriptor_.destroy == nullptr)
        throw std::invalid_argument("create and destroy are required");
    // As for interrupt lines: a bit no minor defines is a mistake (or
    // garbage), not something to ignore silently.
    constexpr uint32_t kKnownFlags = VMM_PLUGIN_THREAD_SAFE | VMM_PLUGIN_NEEDS_VCPU_STATE;
    if (const uint32_t unknown = descriptor_.flags & ~kKnownFlags)
        throw std::invalid_argument(fmt::format("plugin '{}': flags has unknown bits {:#x} (this vmm knows "
                                                "VMM_PLUGIN_THREAD_SAFE and VMM_PLUGIN_NEEDS_VCPU_STATE, {:#x})",
                                                name_, unknown, kKnownFlags));

    if (descriptor_.config_key_count > 0 && descriptor_.config_keys == nullptr)
        throw std::invalid_argument("config_key_count is set but config_keys is NULL");
    if (descriptor_.config_key_count > kMaxConfigKeys)
        throw std::invalid_argument(fmt::format("more than {} config keys", kMaxConfigKeys));
    std::set<std::string> seen;
    const char *cursor = reinterpret_cast<const char *>(descriptor_.config_keys);
    for (uint32_t i = 0; i < descriptor_.config_key_count; ++i) {
        const auto *raw_key = reinterpret_cast<const vmm_config_key *>(cursor);
        cursor += checked_stride(raw_key->struct_size, kMinConfigKeySize, fmt::format("config key {}", i));
        const vmm_config_key key = copy_sized(raw_key, kMinConfigKeySize);
        ConfigKeyInfo info;
        info.name = checked_string(key.name, fmt::format("the name of config key {}", i), true);
        info.type = key.type;
        info.description =
            checked_string(key.description, fmt::format("the description of config key '{}'", info.name), false);
        info.required = key.required != 0;
        // The field was "reserved, zero" before 1.5: any other bit is garbage.
        // 1.6's socket bit only from a 1.6 plugin (an older one's is garbage).
        const uint32_t socket_bit = VMM_ABI_VERSION_MINOR(abi_version_) >= 6 ? VMM_KEY_SOCKET_CONNECT : 0u;
        info.path_flags = key.reserved & (VMM_KEY_PATH_WRITE | VMM_KEY_PATH_READ);
        info.connects_socket = (key.reserved & socket_bit) != 0;
        if (const uint32_t unknown = key.reserved & ~(VMM_KEY_PATH_WRITE | VMM_KEY_PATH_READ | socket_bit))
            throw std::invalid_argument(fmt::format("config key '{}' has unknown flag bits {:#x} (this vmm knows "
                                                    "VMM_KEY_PATH_WRITE, VMM_KEY_PATH_READ and, from ABI 1.6, "
                                                    "VMM_KEY_SOCKET_CONNECT)",
                                                    info.name, unknown));
        if (info.connects_socket && (info.type != VMM_VALUE_STRING || info.path_flags != 0))
            throw std::invalid_argument(fmt::format("config key '{}' is a socket (VMM_KEY_SOCKET_CONNECT) but not a "
                                                    "string, or also a path (VMM_KEY_PATH_*)",
                                                    info.name));
        if (info.path_flags != 0 && (info.type != VMM_VALUE_STRING ||
                                     info.path_flags == (VMM_KEY_PATH_WRITE | VMM_KEY_PATH_READ)))
            throw std::invalid_argument(fmt::format("config key '{}' is a path (VMM_KEY_PATH_*) but not a string, or "
                                                    "both to write and to read",
                                                    info.name));
        if (info.name.empty())
            throw std::invalid_argument(fmt::format("config key {} has an empty name", i));
        if (std::string(value_type_name(info.type)) == "unknown")
            throw std::invalid_argument(fmt::format("config key '{}' has unknown type {}", info.name, info.type));
        if (!seen.insert(info.name).second)
            throw std::invalid_argument(fmt::format("config key '{}' is declared twice", info.name));
        // 1.6's fields; an older plugin's key may be longer than it knew
        // (padding, garbage): not ours to read, as with default_irqs.
        if (VMM_ABI_VERSION_MINOR(abi_version_) >= 6)
            read_key_limits(key, info);
        config_keys_.push_back(std::move(info));
    }

    if (descriptor_.default_region_count > 0 && descriptor_.default_regions == nullptr)
        throw std::invalid_argument("default_region_count is set but default_regions is NULL");
    if (descriptor_.default_region_count > kMaxDefaultRegions)
        throw std::invalid_argument(fmt::format("more than {} default regions", kMaxDefaultRegions));
    cursor = reinterpret_cast<const char *>(descriptor_.default_regions);
    for (uint32_t i = 0; i < descriptor_.default_region_count; ++i) {
        const auto *raw_decl = reinterpret_cast<const vmm_region_decl *>(cursor);
        cursor += checked_stride(raw_decl->struct_size, kMinRegionDeclSize, fmt::format("default region {}", i));
        const vmm_region_decl decl = copy_sized(raw_decl, kMinRegionDeclSize);
        if (decl.space != VMM_SPACE_PIO && decl.space != VMM_SPACE_MMIO)
            throw std::invalid_argument(fmt::format("default region {} has unknown space {}", i, decl.space));
        // Size and overlap are checked when the machine is built, with the
        // device named, like ranges from a machine file.
        default_regions_.push_back(RegionDecl{decl.space == VMM_SPACE_PIO ? Space::pio : Space::mmio, decl.base,
                                              decl.size});
    }
    read_default_irqs(raw_size);
}

// ABI 1.6's default, range and choices of one key. A plugin lying about
// them (a default outside its own range) would make `vmm plugins` wrong and
// machine files fail for no reason of theirs: a malformed plugin, named.
void PluginLibrary::read_key_limits(const vmm_config_key &key, ConfigKeyInfo &info) const
{
    const std::string what = fmt::format("plugin '{}': config key '{}'", name_, info.name);
    if (const uint32_t unknown = key.limits & ~VMM_KEY_HAS_RANGE)
        throw std::invalid_argument(fmt::format("{} has unknown limits bits {:#x} (this vmm knows "
                                                "VMM_KEY_HAS_RANGE)",
                                                what, unknown));
    if (key.default_text != nullptr)
        info.default_text = checked_string(key.default_text, what + ": its default", true);
    info.has_range = (key.limits & VMM_KEY_HAS_RANGE) != 0;
    if (info.has_range) {
        if (info.type != VMM_VALUE_INT && info.type != VMM_VALUE_FLOAT)
            throw std::invalid_argument(fmt::format("{} declares a range, but is a {}, not an integer or a float", what,
                                                    value_type_name(info.type)));
        if (key.min_value > key.max_value)
            throw std::invalid_argument(fmt::format("{} declares the range {}..{}, whose minimum is above its maximum",
                                                    what, key.min_value, key.max_value));
        info.min_value = key.min_value;
        info.max_value = key.max_value;
    }
    if (key.choices != nullptr) {
        if (info.type != VMM_VALUE_STRING)
            throw std::invalid_argument(
                fmt::format("{} declares choices, but is a {}, not a string", what, value_type_name(info.type)));
        for (std::size_t i = 0; key.choices[i] != nullptr; ++i) {
            if (i == kMaxKeyChoices)
                throw std::invalid_argument(fmt::format("{} declares more than {} choices (or its list lacks the "
                                                        "terminating NULL)",
                                                        what, kMaxKeyChoices));
            std::string choice = checked_string(key.choices[i], fmt::format("{}: choice {}", what, i), true);
            if (choice.empty())
                throw std::invalid_argument(fmt::format("{}: choice {} is an empty string", what, i));
            info.choices.push_back(std::move(choice));
        }
        if (info.choices.empty())
            throw std::invalid_argument(fmt::format("{} declares an empty list of choices", what));
    }
    if (info.default_text) {
        if (const auto problem = value_problem(info, *info.default_text))
            throw std::invalid_argument(
                fmt::format("{}: its default \"{}\" {}", what, escaped(*info.default_text), *problem));
    }
}

// ABI 1.4's declared interrupt lines. A plugin of an earlier minor has no
// such fields, and one whose descriptor stops short of them declared none:
// in both cases whatever lies there is not ours to read.
void PluginLibrary::read_default_irqs(uint32_t raw_descriptor_size)
{
    if (VMM_ABI_VERSION_MINOR(abi_version_) < 4 || raw_descriptor_size < kIrqFieldsEnd)
        return;
    if (descriptor_.default_irq_count > 0 && descriptor_.default_irqs == nullptr)
        throw std::invalid_argument("default_irq_count is set but default_irqs is NULL");
    if (descriptor_.default_irq_count > kMaxDefaultIrqs)
        throw std::invalid_argument(fmt::format("more than {} default interrupt lines", kMaxDefaultIrqs));
    const char *cursor = reinterpret_cast<const char *>(descriptor_.default_irqs);
    for (uint32_t i = 0; i < descriptor_.default_irq_count; ++i) {
        const auto *raw_decl = reinterpret_cast<const vmm_irq_decl *>(cursor);
        cursor += checked_stride(raw_decl->struct_size, kMinIrqDeclSize, fmt::format("default irq {}", i));
        const vmm_irq_decl decl = copy_sized(raw_decl, kMinIrqDeclSize);
        // No minor this host accepts defines other bits: one set is a
        // mistake (or garbage) that would otherwise be silently ignored.
        if (const uint32_t unknown = decl.flags & ~(VMM_IRQ_LEVEL | VMM_IRQ_SHARED))
            throw std::invalid_argument(fmt::format("plugin '{}': default irq {} has unknown flag bits {:#x}", name_, i,
                                                    unknown));
        // Edges cannot be ORed: a pulse from one sharer would hide another's.
        if ((decl.flags & VMM_IRQ_SHARED) != 0 && (decl.flags & VMM_IRQ_LEVEL) == 0)
            throw std::invalid_argument(fmt::format("plugin '{}': default irq {} is VMM_IRQ_SHARED but not "
                                                    "VMM_IRQ_LEVEL (only level-triggered lines can be shared)",
                                                    name_, i));
        // The line's number is checked against the machine when it is
        // planned, with the device named, like a line from a machine file.
        default_irqs_.push_back(IrqDecl{decl.line, decl.flags});
    }
}

const ConfigKeyInfo *PluginLibrary::find_key(const std::string &name) const
{
    for (const ConfigKeyInfo &key : config_keys_) {
        if (key.name == name)
            return &key;
    }
    return nullptr;
}

PluginLibrary::~PluginLibrary() = default;

std::shared_ptr<PluginLibrary> PluginLibrary::with_functions(std::shared_ptr<PluginLibrary> inner,
                                                             const vmm_plugin_descriptor &proxy)
{
    std::shared_ptr<PluginLibrary> library(new PluginLibrary());
    library->file_ = inner->file_;
    library->abi_version_ = inner->abi_version_;
    library->descriptor_ = proxy;
    library->name_ = inner->name_;
    library->version_ = inner->version_;
    library->description_ = inner->description_;
    library->config_keys_ = inner->config_keys_;
    library->default_regions_ = inner->default_regions_;
    library->default_irqs_ = inner->default_irqs_;
    library->described_storage_ = inner->described_storage_;
    library->inner_ = std::move(inner);
    return library;
}

} // namespace vmm
