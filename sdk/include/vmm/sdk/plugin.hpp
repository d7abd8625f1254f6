// vmm/sdk/plugin.hpp - exporting a C++ device class as a plugin.
//
//   class Uart : public vmm::sdk::Device {
//   public:
//       static vmm::sdk::PluginInfo plugin_info();   // name, version, keys...
//       explicit Uart(const vmm::sdk::DeviceContext &context);
//       void write(uint32_t region, uint64_t offset, std::span<const uint8_t> data) override;
//   };
//   VMM_PLUGIN(Uart)
//
// VMM_PLUGIN defines the two C symbols the host looks for. Every call from
// the host goes through a trampoline below that catches all exceptions.
#pragma once

#include <vmm/plugin_abi.h>
#include <vmm/sdk/device.hpp>
#include <vmm/sdk/state.hpp>

#include <cstdint>
#include <cstring>
#include <exception>
#include <new>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace vmm::sdk {

struct PluginInfo {
    const char *name = nullptr;
    const char *version = nullptr;
    const char *description = nullptr;
    std::span<const vmm_config_key> config_keys{};
    std::span<const vmm_region_decl> default_regions{};
    std::span<const vmm_irq_decl> default_irqs{}; // ABI 1.4: see edge_irq(), level_irq()
    bool thread_safe = false;      // callbacks may run concurrently (the plugin locks itself)
    bool observes_exits = false;   // ABI 1.2: observe_exit() sees every VM exit
    bool needs_vcpu_state = false; // ABI 1.2: registers of other vCPUs, as of their last exit
    // ABI 1.3: save_state()/load_state() move the device. Not needed: a class
    // that overrides both has state whatever this says (VMM_PLUGIN checks at
    // compile time that it overrides both or neither). Set alone, it offers
    // an empty state: the device is swapped without "restart" and starts anew.
    bool has_state = false;
};

constexpr vmm_config_key config_key(uint32_t type, const char *name, const char *description,
                                    bool required = false) noexcept
{
    return vmm_config_key{
        sizeof(vmm_config_key), type, name, description, required ? 1u : 0u, 0u, nullptr, 0u, 0u, 0, 0, nullptr};
}
constexpr vmm_config_key int_key(const char *name, const char *description, bool required = false) noexcept
{
    return config_key(VMM_VALUE_INT, name, description, required);
}
constexpr vmm_config_key bool_key(const char *name, const char *description, bool required = false) noexcept
{
    return config_key(VMM_VALUE_BOOL, name, description, required);
}
constexpr vmm_config_key float_key(const char *name, const char *description, bool required = false) noexcept
{
    return config_key(VMM_VALUE_FLOAT, name, description, required);
}
constexpr vmm_config_key string_key(const char *name, const char *description, bool required = false) noexcept
{
    return config_key(VMM_VALUE_STRING, name, description, required);
}
// ABI 1.5: a string setting naming a file the plugin opens (VMM_KEY_PATH_WRITE
// or VMM_KEY_PATH_READ), so that an isolated instance gets it opened by the host.
constexpr vmm_config_key path_key(const char *name, const char *description, uint32_t path_flags,
                                  bool required = false) noexcept
{
    vmm_config_key key = config_key(VMM_VALUE_STRING, name, description, required);
    key.reserved = path_flags;
    return key;
}
// ABI 1.6: a string setting naming a UNIX stream socket the plugin connects
// to ("unix:PATH", "connect:PATH" or PATH), so that an isolated instance gets
// it connected by the host (VMM_KEY_SOCKET_CONNECT).
constexpr vmm_config_key socket_key(const char *name, const char *description, bool required = false) noexcept
{
    vmm_config_key key = config_key(VMM_VALUE_STRING, name, description, required);
    key.reserved = VMM_KEY_SOCKET_CONNECT;
    return key;
}
// ABI 1.6: what a key declares about its values, added to a key made above:
//   with_range(with_default(int_key("max_queue_length", "..."), "4096"), 2, 65535)
// `vmm plugins NAME` shows them, the host refuses machine files outside
// them, and Settings::get(key) returns the default when the file sets none,
// so the value is written once. The host checks them when it loads the
// plugin (a default outside the range is a malformed plugin).
constexpr vmm_config_key with_default(vmm_config_key key, const char *default_text) noexcept
{
    key.default_text = default_text;
    return key;
}
// Inclusive bounds of an integer (or float) setting.
constexpr vmm_config_key with_range(vmm_config_key key, int64_t min, int64_t max) noexcept
{
    key.limits |= VMM_KEY_HAS_RANGE;
    key.min_value = min;
    key.max_value = max;
    return key;
}
// The only values a string setting accepts: a NULL-terminated array in
// static storage, e.g. constexpr const char *kModes[] = {"exit", "poll", nullptr};
constexpr vmm_config_key with_choices(vmm_config_key key, const char *const *choices) noexcept
{
    key.choices = choices;
    return key;
}
constexpr vmm_region_decl pio_region(uint64_t base, uint64_t size) noexcept
{
    return vmm_region_decl{sizeof(vmm_region_decl), VMM_SPACE_PIO, base, size};
}
constexpr vmm_region_decl mmio_region(uint64_t base, uint64_t size) noexcept
{
    return vmm_region_decl{sizeof(vmm_region_decl), VMM_SPACE_MMIO, base, size};
}

namespace detail {

inline Device *as_device(void *instance) noexcept { return static_cast<Device *>(instance); }

// Report an exception through the instance's logger and map it to a status.
inline vmm_status report_exception(const Host &host, const char *what_failed) noexcept
{
    try {
        throw;
    } catch (const ConfigError &e) {
        host.logf(LogLevel::error, "%s: %s", what_failed, e.what());
        return VMM_ERROR_INVALID;
    } catch (const std::bad_alloc &) {
        host.logf(LogLevel::error, "%s: out of memory", what_failed);
        return VMM_ERROR_NO_MEMORY;
    } catch (const std::exception &e) {
        host.logf(LogLevel::error, "%s: %s", what_failed, e.what());
        return VMM_ERROR_EXCEPTION;
    } catch (...) {
        host.logf(LogLevel::error, "%s: unknown exception", what_failed);
        return VMM_ERROR_EXCEPTION;
    }
}

template <typename T>
vmm_status create(const vmm_device_create_info *info, void **instance) noexcept
{
    if (info == nullptr || instance == nullptr)
        return VMM_ERROR_INVALID;
    *instance = nullptr;
    const Host host(info->host_api, info->host);
    try {
        const DeviceContext context(*info);
        Device *device = new T(context);
        *instance = device;
        return VMM_OK;
    } catch (...) {
        return report_exception(host, "create failed");
    }
}

inline void destroy(void *instance) noexcept
{
    Device *device = as_device(instance);
    try {
        delete device;
    } catch (...) {
        // A destructor that throws would terminate; destructors are noexcept.
    }
}

inline vmm_status read(void *instance, uint32_t region, uint64_t offset, void *data, uint32_t size) noexcept
{
    Device *device = as_device(instance);
    if (device == nullptr || data == nullptr)
        return VMM_ERROR_INVALID;
    try {
        device->read(region, offset, std::span<uint8_t>(static_cast<uint8_t *>(data), size));
        return VMM_OK;
    } catch (...) {
        return report_exception(device->host(), "read failed");
    }
}

inline vmm_status write(void *instance, uint32_t region, uint64_t offset, const void *data, uint32_t size) noexcept
{
    Device *device = as_device(instance);
    if (device == nullptr || data == nullptr)
        return VMM_ERROR_INVALID;
    try {
        device->write(region, offset, std::span<const uint8_t>(static_cast<const uint8_t *>(data), size));
        return VMM_OK;
    } catch (...) {
        return report_exception(device->host(), "write failed");
    }
}

inline void observe_exit(void *instance, const vmm_exit_event *event) noexcept
{
    Device *device = as_device(instance);
    if (device == nullptr || event == nullptr)
        return;
    try {
        device->observe_exit(*event);
    } catch (...) {
        report_exception(device->host(), "observe_exit failed");
    }
}

inline vmm_status save_state(void *instance, void *buffer, uint64_t capacity, uint64_t *size) noexcept
{
    Device *device = as_device(instance);
    if (device == nullptr || size == nullptr)
        return VMM_ERROR_INVALID;
    try {
        // Saved once per swap; the host's first capacity is usually enough.
        const std::vector<uint8_t> state = device->save_state();
        *size = state.size();
        if (state.size() > capacity || (buffer == nullptr && !state.empty()))
            return VMM_ERROR_RANGE;
        if (!state.empty())
            std::memcpy(buffer, state.data(), state.size());
        return VMM_OK;
    } catch (...) {
        return report_exception(device->host(), "save_state failed");
    }
}

inline vmm_status load_state(void *instance, const void *data, uint64_t size) noexcept
{
    Device *device = as_device(instance);
    if (device == nullptr || (data == nullptr && size != 0))
        return VMM_ERROR_INVALID;
    try {
        device->load_state(std::span<const uint8_t>(static_cast<const uint8_t *>(data), size));
        return VMM_OK;
    } catch (const StateError &e) {
        device->host().logf(LogLevel::error, "load_state refused: %s", e.what());
        return VMM_ERROR_INVALID;
    } catch (...) {
        return report_exception(device->host(), "load_state failed");
    }
}

inline vmm_status realize(void *instance) noexcept
{
    Device *device = as_device(instance);
    if (device == nullptr)
        return VMM_ERROR_INVALID;
    try {
        Runtime runtime = device->runtime();
        device->realize(runtime);
        return VMM_OK;
    } catch (const RuntimeError &e) {
        device->host().logf(LogLevel::error, "realize failed: %s", e.what());
        return e.status();
    } catch (...) {
        return report_exception(device->host(), "realize failed");
    }
}

inline vmm_status quiesce(void *instance) noexcept
{
    Device *device = as_device(instance);
    if (device == nullptr)
        return VMM_ERROR_INVALID;
    try {
        device->quiesce();
        return VMM_OK;
    } catch (...) {
        return report_exception(device->host(), "quiesce failed");
    }
}

inline vmm_status resume(void *instance) noexcept
{
    Device *device = as_device(instance);
    if (device == nullptr)
        return VMM_ERROR_INVALID;
    try {
        device->resume();
        return VMM_OK;
    } catch (...) {
        return report_exception(device->host(), "resume failed");
    }
}

// Whether T overrides Device::save_state / load_state: the member's type
// names the class that declares it, Device when T only inherits it.
template <typename T>
inline constexpr bool overrides_save_state =
    !std::is_same_v<decltype(&T::save_state), std::vector<uint8_t> (Device::*)()>;
template <typename T>
inline constexpr bool overrides_load_state =
    !std::is_same_v<decltype(&T::load_state), void (Device::*)(std::span<const uint8_t>)>;

// A device that saves its state but cannot take it back (or the reverse)
// would lose it in a swap: refuse to build it.
template <typename T>
constexpr bool check_state_overrides() noexcept
{
    static_assert(overrides_save_state<T> == overrides_load_state<T>,
                  "VMM_PLUGIN: the device class overrides only one of save_state() and load_state(); "
                  "a device with state needs both");
    return overrides_save_state<T>;
}

template <typename T>
const vmm_plugin_descriptor *describe_or_throw()
{
    constexpr bool overrides_state = check_state_overrides<T>();
    static const vmm_plugin_descriptor descriptor = [] {
        const PluginInfo info = T::plugin_info();
        vmm_plugin_descriptor d{};
        d.struct_size = sizeof(vmm_plugin_descriptor);
        d.flags = (info.thread_safe ? VMM_PLUGIN_THREAD_SAFE : 0u) |
                  (info.needs_vcpu_state ? VMM_PLUGIN_NEEDS_VCPU_STATE : 0u);
        d.name = info.name;
        d.version = info.version;
        d.description = info.description;
        d.config_keys = info.config_keys.data();
        d.config_key_count = static_cast<uint32_t>(info.config_keys.size());
        d.default_regions = info.default_regions.data();
        d.default_region_count = static_cast<uint32_t>(info.default_regions.size());
        d.create = &create<T>;
        d.destroy = &destroy;
        d.read = &read;
        d.write = &write;
        d.observe_exit = info.observes_exits ? &observe_exit : nullptr;
        // Overriding save_state/load_state is what gives a device state; the
        // flag alone can no longer leave overrides silently unused.
        const bool has_state = overrides_state || info.has_state;
        d.save_state = has_state ? &save_state : nullptr;
        d.load_state = has_state ? &load_state : nullptr;
        d.default_irqs = info.default_irqs.data();
        d.default_irq_count = static_cast<uint32_t>(info.default_irqs.size());
        d.realize = &realize;
        d.quiesce = &quiesce;
        d.resume = &resume;
        return d;
    }();
    return &descriptor;
}

// NULL if T::plugin_info() throws: no exception may cross the ABI, and the
// host refuses a plugin whose descriptor is NULL, naming its file.
template <typename T>
const vmm_plugin_descriptor *describe() noexcept
{
    try {
        return describe_or_throw<T>();
    } catch (...) {
        return nullptr;
    }
}

} // namespace detail
} // namespace vmm::sdk

#define VMM_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

// Export DeviceClass as this shared object's plugin.
#define VMM_PLUGIN(DeviceClass)                                                        \
    VMM_PLUGIN_EXPORT const uint32_t vmm_plugin_abi_version = VMM_ABI_VERSION;         \
    VMM_PLUGIN_EXPORT const vmm_plugin_descriptor *vmm_plugin_describe(void)           \
    {                                                                                  \
        return ::vmm::sdk::detail::describe<DeviceClass>();                            \
    }
