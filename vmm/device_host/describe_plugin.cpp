#include "device_host/describe_plugin.hpp"

#include "device_host/sandbox.hpp"
#include "isolation/wire.hpp"
#include "plugin/descriptor_limits.hpp"

#include <vmm/plugin_abi.h>

#include <dlfcn.h>
#include <signal.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <exception>
#include <string>

namespace vmm::device_host {
namespace {

using namespace isolation;

// Only what vmm accepts (plugin/descriptor_limits.hpp) is sent.

// present flag, then at most kMaxPluginString bytes (a string without its
// terminator in that many is sent cut, which vmm refuses as it would have).
void put_string(Writer &m, const char *text)
{
    m.u32(text != nullptr ? 1 : 0);
    if (text != nullptr)
        m.str(std::string(text, ::strnlen(text, kMaxPluginString)));
}

// ABI 1.6's fields of a config key: the default, the range, and the
// choices (up to one more than vmm accepts, so that a list too long, or
// without its terminating NULL, is refused there by the same check).
void put_key_limits(Writer &m, const vmm_config_key &k)
{
    put_string(m, k.default_text);
    m.u32(k.limits).u32(k.reserved_1_6).i64(k.min_value).i64(k.max_value);
    m.u32(k.choices != nullptr ? 1 : 0);
    if (k.choices == nullptr)
        return;
    uint32_t count = 0;
    while (count < kMaxKeyChoices + 1 && k.choices[count] != nullptr)
        ++count;
    m.u32(count);
    for (uint32_t i = 0; i < count; ++i)
        put_string(m, k.choices[i]);
}

// An array of structs walked with each element's struct_size as stride: per
// element its struct_size, then (if it is one vmm accepts) `put` of its
// fields. An unusable stride ends the message: vmm stops there too.
template <typename T, typename Put>
bool put_array(Writer &m, const T *array, uint32_t count, uint32_t limit, uint32_t min_size, Put put)
{
    m.u32(count).u32(array != nullptr ? 1 : 0);
    if (array == nullptr || count > limit)
        return true;
    const char *cursor = reinterpret_cast<const char *>(array);
    for (uint32_t i = 0; i < count; ++i) {
        const auto *raw = reinterpret_cast<const T *>(cursor);
        const uint32_t size = raw->struct_size;
        m.u32(size);
        if (!usable_stride(size, min_size))
            return false;
        T copy{};
        std::memcpy(&copy, raw, std::min<std::size_t>(size, sizeof(T)));
        put(copy);
        cursor += size;
    }
    return true;
}

void put_descriptor(Writer &m, const vmm_plugin_descriptor *raw, uint32_t version)
{
    vmm_plugin_descriptor d{};
    const uint32_t size = raw->struct_size;
    std::memcpy(&d, raw, std::min<std::size_t>(size, sizeof d));
    m.u32(size).u32(d.flags);
    put_string(m, d.name);
    put_string(m, d.version);
    put_string(m, d.description);
    uint32_t functions = 0;
    const void *const present[] = {
        reinterpret_cast<const void *>(d.create),       reinterpret_cast<const void *>(d.destroy),
        reinterpret_cast<const void *>(d.read),         reinterpret_cast<const void *>(d.write),
        reinterpret_cast<const void *>(d.observe_exit), reinterpret_cast<const void *>(d.save_state),
        reinterpret_cast<const void *>(d.load_state),   reinterpret_cast<const void *>(d.realize),
        reinterpret_cast<const void *>(d.quiesce),      reinterpret_cast<const void *>(d.resume)};
    for (std::size_t i = 0; i < std::size(present); ++i)
        functions |= present[i] != nullptr ? 1u << i : 0u;
    m.u32(functions);
    if (!put_array(m, d.config_keys, d.config_key_count, kMaxConfigKeys, kMinConfigKeySize,
                   [&](const vmm_config_key &k) {
                       m.u32(k.type);
                       put_string(m, k.name);
                       put_string(m, k.description);
                       m.u32(k.required).u32(k.reserved);
                       if (VMM_ABI_VERSION_MINOR(version) >= 6) // defaults, ranges, choices
                           put_key_limits(m, k);
                   }))
        return;
    if (!put_array(m, d.default_regions, d.default_region_count, kMaxDefaultRegions, kMinRegionDeclSize,
                   [&](const vmm_region_decl &r) { m.u32(r.space).u64(r.base).u64(r.size); }))
        return;
    // ABI 1.4's lines: only where the plugin's descriptor has them.
    if (VMM_ABI_VERSION_MINOR(version) < 4 || size < kIrqFieldsEnd)
        return;
    put_array(m, d.default_irqs, d.default_irq_count, kMaxDefaultIrqs, kMinIrqDeclSize,
              [&](const vmm_irq_decl &q) { m.u32(q.line).u32(q.flags); });
}

int send(const Writer &m) { return send_message(kChannelFd, m) ? 0 : 1; }

} // namespace

int describe_plugin(const char *file)
{
    // vmm waits for this process with a time limit; if vmm itself ends
    // first (a signal), this one goes with it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    void *library = ::dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        const char *why = ::dlerror();
        return send(Writer(msg_description)
                        .u32(describe_not_loadable)
                        .str(std::string(why != nullptr ? why : "").substr(0, kMaxPluginString)));
    }
    const auto *version_symbol = static_cast<const uint32_t *>(::dlsym(library, VMM_PLUGIN_ABI_VERSION_SYMBOL));
    if (version_symbol == nullptr)
        return send(Writer(msg_description).u32(describe_no_version));
    const uint32_t version = *version_symbol;
    if (VMM_ABI_VERSION_MAJOR(version) != VMM_ABI_MAJOR || VMM_ABI_VERSION_MINOR(version) > VMM_ABI_MINOR)
        return send(Writer(msg_description).u32(describe_incompatible).u32(version));
    const auto describe = reinterpret_cast<vmm_plugin_describe_fn>(::dlsym(library, VMM_PLUGIN_DESCRIBE_SYMBOL));
    if (describe == nullptr)
        return send(Writer(msg_description).u32(describe_no_entry).u32(version));
    // The plugin's own code from here on runs as the device will: sandboxed.
    try {
        enter_sandbox(kChannelFd);
    } catch (const std::exception &e) {
        return send(Writer(msg_description).u32(describe_no_sandbox).str(e.what()));
    }
    const vmm_plugin_descriptor *raw = nullptr;
    try {
        raw = describe();
    } catch (const std::exception &e) {
        return send(
            Writer(msg_description).u32(describe_threw).u32(version).str(std::string(e.what()).substr(0, 1024)));
    } catch (...) {
        return send(Writer(msg_description)
                        .u32(describe_threw)
                        .u32(version)
                        .str("an exception not derived from "
                             "std::exception"));
    }
    if (raw == nullptr)
        return send(Writer(msg_description).u32(describe_null).u32(version));
    Writer m(msg_description);
    m.u32(describe_ok).u32(version);
    put_descriptor(m, raw, version);
    if (m.bytes().size() > kMaxDescription)
        return send(Writer(msg_description)
                        .u32(describe_too_large)
                        .u32(version)
                        .u32(static_cast<uint32_t>(std::min<std::size_t>(m.bytes().size(), UINT32_MAX))));
    return send(m);
}

} // namespace vmm::device_host
