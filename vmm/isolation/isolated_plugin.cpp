#include "isolation/isolated_plugin.hpp"

#include "isolation/isolated_device.hpp"
#include "plugin/device_instance.hpp"
#include "plugin/host_context.hpp"
#include "support/errors.hpp"

#include <fmt/format.h>

namespace vmm {
namespace {

IsolatedDevice *of(void *instance) { return static_cast<IsolatedDevice *>(instance); }

vmm_status create(const vmm_device_create_info *info, void **instance, bool observer)
{
    if (info == nullptr || info->host == nullptr || !info->host->isolation)
        return VMM_ERROR_INVALID;
    try {
        *instance = new IsolatedDevice(*info, *info->host->isolation, observer);
        return VMM_OK;
    } catch (const std::exception &e) {
        info->host_api->log(info->host, VMM_LOG_ERROR, e.what());
        return VMM_ERROR;
    }
}

vmm_status proxy_create(const vmm_device_create_info *info, void **instance) { return create(info, instance, false); }

// An exit observer's instance also gets the event rings (observer_rings.hpp).
vmm_status proxy_create_observer(const vmm_device_create_info *info, void **instance)
{
    return create(info, instance, true);
}

void proxy_observe_exit(void *instance, const vmm_exit_event *event) { of(instance)->observe(*event); }

void proxy_destroy(void *instance) { delete of(instance); }

vmm_status proxy_read(void *instance, uint32_t region, uint64_t offset, void *data, uint32_t size)
{
    return of(instance)->read(region, offset, data, size);
}

vmm_status proxy_write(void *instance, uint32_t region, uint64_t offset, const void *data, uint32_t size)
{
    return of(instance)->write(region, offset, data, size);
}

vmm_status proxy_realize(void *instance) { return of(instance)->realize(); }
vmm_status proxy_quiesce(void *instance) { return of(instance)->quiesce(); }
vmm_status proxy_resume(void *instance) { return of(instance)->resume(); }

vmm_status proxy_save_state(void *instance, void *buffer, uint64_t capacity, uint64_t *size)
{
    return of(instance)->save_state(buffer, capacity, size);
}

vmm_status proxy_load_state(void *instance, const void *data, uint64_t size)
{
    return of(instance)->load_state(data, size);
}

} // namespace

std::optional<std::string> why_not_isolatable(const PluginLibrary &plugin)
{
    if (plugin.needs_vcpu_state())
        return fmt::format("plugin '{}' reads vCPU registers (VMM_PLUGIN_NEEDS_VCPU_STATE), which stay in vmm",
                           plugin.name());
    return std::nullopt;
}

std::shared_ptr<PluginLibrary> isolated_plugin(std::shared_ptr<PluginLibrary> plugin)
{
    vmm_plugin_descriptor proxy = plugin->descriptor();
    proxy.create = plugin->observes_exits() ? proxy_create_observer : proxy_create;
    proxy.destroy = proxy_destroy;
    proxy.read = proxy.read != nullptr ? proxy_read : nullptr;
    proxy.write = proxy.write != nullptr ? proxy_write : nullptr;
    proxy.observe_exit = proxy.observe_exit != nullptr ? proxy_observe_exit : nullptr;
    proxy.save_state = proxy.save_state != nullptr ? proxy_save_state : nullptr;
    proxy.load_state = proxy.load_state != nullptr ? proxy_load_state : nullptr;
    // Always: the child mutes its own timers and watches around them.
    proxy.realize = proxy_realize;
    proxy.quiesce = proxy_quiesce;
    proxy.resume = proxy_resume;
    return PluginLibrary::with_functions(std::move(plugin), proxy);
}

std::shared_ptr<PluginLibrary> isolate_device(const std::string &device, std::shared_ptr<PluginLibrary> plugin,
                                              OnCrash on_crash, DeviceWiring &wiring)
{
    if (const auto why = why_not_isolatable(*plugin))
        throw InputError(fmt::format("device '{}': isolate = true, but {}", device, *why));
    auto options = std::make_shared<IsolationOptions>();
    try {
        options->helper = find_device_host();
    } catch (const InputError &e) {
        throw InputError(fmt::format("device '{}': isolate = true, but {}", device, e.what()));
    }
    options->plugin_file = plugin->file();
    options->on_crash = on_crash;
    for (const ConfigKeyInfo &key : plugin->config_keys()) {
        if (key.path_flags != 0)
            options->path_keys[key.name] = key.path_flags;
        if (key.connects_socket)
            options->socket_keys.insert(key.name);
    }
    wiring.isolation = std::move(options);
    return isolated_plugin(std::move(plugin));
}

} // namespace vmm
