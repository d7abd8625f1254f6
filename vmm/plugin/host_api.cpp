// Each entry checks what the plugin hands it (a NULL context, a NULL buffer,
// a struct too short) and, from ABI 1.4 on, whether the device may use the
// service in its current phase, before anything is touched.
#include "plugin/host_api.hpp"

#include "kvm/guest_memory.hpp"
#include "plugin/host_context.hpp"
#include "plugin/host_services.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace vmm {
namespace {

spdlog::level::level_enum to_spdlog(uint32_t level)
{
    switch (level) {
    case VMM_LOG_TRACE: return spdlog::level::trace;
    case VMM_LOG_DEBUG: return spdlog::level::debug;
    case VMM_LOG_INFO: return spdlog::level::info;
    case VMM_LOG_WARN: return spdlog::level::warn;
    case VMM_LOG_ERROR: return spdlog::level::err;
    default: return spdlog::level::critical;
    }
}

// Logging works in every phase, destroy included.
void host_log(vmm_host_context *host, uint32_t level, const char *message)
{
    if (host == nullptr || message == nullptr)
        return;
    const spdlog::level::level_enum spd_level = to_spdlog(level);
    host->logger->log(spd_level, "{}", message);
    if (spd_level >= spdlog::level::err)
        host->capture(message);
}

vmm_status host_guest_read(vmm_host_context *host, uint64_t gpa, void *buffer, uint64_t size)
{
    if (host == nullptr || (buffer == nullptr && size != 0))
        return VMM_ERROR_INVALID;
    if (!host->usable("guest_read"))
        return VMM_ERROR_UNSUPPORTED;
    return host->services->memory().read(gpa, buffer, size) ? VMM_OK : VMM_ERROR_RANGE;
}

vmm_status host_guest_write(vmm_host_context *host, uint64_t gpa, const void *buffer, uint64_t size)
{
    if (host == nullptr || (buffer == nullptr && size != 0))
        return VMM_ERROR_INVALID;
    if (!host->usable("guest_write"))
        return VMM_ERROR_UNSUPPORTED;
    return host->services->memory().write(gpa, buffer, size) ? VMM_OK : VMM_ERROR_RANGE;
}

void *host_guest_map(vmm_host_context *host, uint64_t gpa, uint64_t size)
{
    if (host == nullptr || size == 0 || !host->usable("guest_map"))
        return nullptr;
    return host->services->memory().host_pointer(gpa, size, false);
}

void host_request_stop(vmm_host_context *host, int32_t exit_status)
{
    if (host != nullptr && host->usable("request_stop"))
        host->services->request_stop(exit_status, host->instance_name);
}

vmm_status host_region_address(vmm_host_context *host, uint32_t region, uint64_t *address)
{
    if (host == nullptr || address == nullptr)
        return VMM_ERROR_INVALID;
    if (region >= host->region_bases.size())
        return VMM_ERROR_RANGE;
    *address = host->region_bases[region];
    return VMM_OK;
}

uint32_t host_vcpu_count(vmm_host_context *host)
{
    return host != nullptr && host->usable("vcpu_count") ? host->services->vcpu_count() : 0;
}

int32_t host_current_vcpu(vmm_host_context *host)
{
    return host != nullptr && host->usable("current_vcpu") ? host->services->current_vcpu() : -1;
}

vmm_status host_vcpu_info(vmm_host_context *host, uint32_t vcpu, vmm_vcpu_info *info)
{
    if (host == nullptr || info == nullptr || info->struct_size < sizeof(vmm_vcpu_info))
        return VMM_ERROR_INVALID;
    if (!host->usable("vcpu_info"))
        return VMM_ERROR_UNSUPPORTED;
    return host->services->vcpu_info(vcpu, *info);
}

vmm_status host_get_vcpu_registers(vmm_host_context *host, uint32_t vcpu, vmm_vcpu_registers *registers)
{
    if (host == nullptr || registers == nullptr || registers->struct_size < sizeof(vmm_vcpu_registers))
        return VMM_ERROR_INVALID;
    if (!host->usable("get_vcpu_registers"))
        return VMM_ERROR_UNSUPPORTED;
    return host->services->get_vcpu_registers(vcpu, *registers);
}

vmm_status host_set_vcpu_registers(vmm_host_context *host, uint32_t vcpu, const vmm_vcpu_registers *registers)
{
    if (host == nullptr || registers == nullptr || registers->struct_size < sizeof(vmm_vcpu_registers))
        return VMM_ERROR_INVALID;
    if (!host->usable("set_vcpu_registers"))
        return VMM_ERROR_UNSUPPORTED;
    return host->services->set_vcpu_registers(vcpu, *registers);
}

// ---- ABI 1.4: the device runtime ------------------------------------------

DeviceRuntime *runtime_of(vmm_host_context *host) { return host == nullptr ? nullptr : host->runtime.get(); }

vmm_status host_irq_set_level(vmm_host_context *host, uint32_t line, uint32_t level)
{
    DeviceRuntime *runtime = runtime_of(host);
    return runtime ? runtime->irq_set_level(line, level) : VMM_ERROR_INVALID;
}

vmm_status host_irq_pulse(vmm_host_context *host, uint32_t line)
{
    DeviceRuntime *runtime = runtime_of(host);
    return runtime ? runtime->irq_pulse(line) : VMM_ERROR_INVALID;
}

vmm_status host_msi_send(vmm_host_context *host, uint64_t address, uint32_t data)
{
    DeviceRuntime *runtime = runtime_of(host);
    return runtime ? runtime->msi_send(address, data) : VMM_ERROR_INVALID;
}

int32_t host_irq_eventfd(vmm_host_context *host, uint32_t line)
{
    DeviceRuntime *runtime = runtime_of(host);
    return runtime ? runtime->irq_eventfd(line) : -1;
}

vmm_status host_timer_create(vmm_host_context *host, vmm_event_fn fn, void *opaque, uint64_t *timer)
{
    DeviceRuntime *runtime = runtime_of(host);
    return runtime ? runtime->timer_create(fn, opaque, timer) : VMM_ERROR_INVALID;
}

vmm_status host_timer_arm(vmm_host_context *host, uint64_t timer, uint64_t delay_ns, uint64_t period_ns)
{
    DeviceRuntime *runtime = runtime_of(host);
    return runtime ? runtime->timer_arm(timer, delay_ns, period_ns) : VMM_ERROR_INVALID;
}

vmm_status host_timer_cancel(vmm_host_context *host, uint64_t timer)
{
    DeviceRuntime *runtime = runtime_of(host);
    return runtime ? runtime->timer_cancel(timer) : VMM_ERROR_INVALID;
}

vmm_status host_fd_watch(vmm_host_context *host, int32_t fd, uint32_t events, vmm_event_fn fn, void *opaque,
                         uint64_t *watch)
{
    DeviceRuntime *runtime = runtime_of(host);
    return runtime ? runtime->fd_watch(fd, events, fn, opaque, watch) : VMM_ERROR_INVALID;
}

vmm_status host_fd_watch_update(vmm_host_context *host, uint64_t watch, uint32_t events)
{
    DeviceRuntime *runtime = runtime_of(host);
    return runtime ? runtime->fd_watch_update(watch, events) : VMM_ERROR_INVALID;
}

vmm_status host_doorbell_add(vmm_host_context *host, const vmm_doorbell *doorbell, vmm_event_fn fn, void *opaque,
                             uint64_t *handle)
{
    DeviceRuntime *runtime = runtime_of(host);
    if (runtime == nullptr || doorbell == nullptr || doorbell->struct_size < sizeof(vmm_doorbell))
        return VMM_ERROR_INVALID;
    return runtime->doorbell_add(*doorbell, fn, opaque, handle);
}

vmm_status host_release(vmm_host_context *host, uint64_t handle)
{
    DeviceRuntime *runtime = runtime_of(host);
    return runtime ? runtime->release(handle) : VMM_ERROR_INVALID;
}

uint64_t host_clock_ns(vmm_host_context *) { return DeviceRuntime::clock_ns(); }

// ---- ABI 1.5: machine facts -------------------------------------------------

vmm_status host_machine_info(vmm_host_context *host, vmm_machine_info *info)
{
    if (host == nullptr || info == nullptr || info->struct_size < 8)
        return VMM_ERROR_INVALID;
    if (!host->usable("machine_info"))
        return VMM_ERROR_UNSUPPORTED;
    const vmm_machine_info &facts = host->services->machine_facts().info;
    const uint32_t size = info->struct_size; // the plugin's: never copy past it
    std::memcpy(reinterpret_cast<char *>(info) + 4, reinterpret_cast<const char *>(&facts) + 4,
                std::min<std::size_t>(size, sizeof facts) - 4);
    info->struct_size = size;
    return VMM_OK;
}

vmm_status host_machine_blob(vmm_host_context *host, const char *name, uint64_t offset, void *buffer, uint64_t size,
                             uint64_t *blob_size)
{
    if (host == nullptr || name == nullptr || (buffer == nullptr && size != 0))
        return VMM_ERROR_INVALID;
    if (!host->usable("machine_blob"))
        return VMM_ERROR_UNSUPPORTED;
    const auto &blobs = host->services->machine_facts().blobs;
    const auto found = blobs.find(std::string_view(name));
    if (found == blobs.end())
        return VMM_ERROR_INVALID;
    if (blob_size != nullptr)
        *blob_size = found->second.size;
    return found->second.copy(offset, buffer, size) ? VMM_OK : VMM_ERROR_RANGE;
}

const vmm_host_api kHostApi = {
    sizeof(vmm_host_api),
    VMM_ABI_VERSION,
    &host_log,
    &host_guest_read,
    &host_guest_write,
    &host_guest_map,
    &host_request_stop,
    &host_region_address,
    &host_vcpu_count,
    &host_current_vcpu,
    &host_vcpu_info,
    &host_get_vcpu_registers,
    &host_set_vcpu_registers,
    &host_irq_set_level,
    &host_irq_pulse,
    &host_msi_send,
    &host_irq_eventfd,
    &host_timer_create,
    &host_timer_arm,
    &host_timer_cancel,
    &host_fd_watch,
    &host_fd_watch_update,
    &host_doorbell_add,
    &host_release,
    &host_clock_ns,
    &host_machine_info,
    &host_machine_blob,
};

} // namespace

const vmm_host_api &host_api_table() { return kHostApi; }

} // namespace vmm
