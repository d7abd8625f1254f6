#include "device_host/child_host.hpp"

#include "isolation/wire.hpp"

#include <unistd.h>

#include <cstring>
#include <ctime>

struct vmm_host_context; // here, a ChildHost in disguise

namespace vmm::device_host {

thread_local int32_t t_current_vcpu = -1;

namespace {

ChildHost *of(vmm_host_context *host) { return reinterpret_cast<ChildHost *>(host); }

void api_log(vmm_host_context *host, uint32_t level, const char *message)
{
    if (host != nullptr && message != nullptr)
        of(host)->log(level, std::string(message, ::strnlen(message, isolation::kMaxMessage - 64)));
}

vmm_status api_guest_read(vmm_host_context *host, uint64_t gpa, void *buffer, uint64_t size)
{
    if (host == nullptr || (buffer == nullptr && size != 0))
        return VMM_ERROR_INVALID;
    const GuestRegion *region = of(host)->find(gpa, size, true);
    if (region == nullptr)
        return VMM_ERROR_RANGE;
    std::memcpy(buffer, region->host + (gpa - region->gpa), size);
    return VMM_OK;
}

vmm_status api_guest_write(vmm_host_context *host, uint64_t gpa, const void *buffer, uint64_t size)
{
    if (host == nullptr || (buffer == nullptr && size != 0))
        return VMM_ERROR_INVALID;
    const GuestRegion *region = of(host)->find(gpa, size, false);
    if (region == nullptr)
        return VMM_ERROR_RANGE;
    std::memcpy(region->host + (gpa - region->gpa), buffer, size);
    return VMM_OK;
}

void *api_guest_map(vmm_host_context *host, uint64_t gpa, uint64_t size)
{
    if (host == nullptr || size == 0)
        return nullptr;
    const GuestRegion *region = of(host)->find(gpa, size, false);
    return region == nullptr ? nullptr : region->host + (gpa - region->gpa);
}

void api_request_stop(vmm_host_context *host, int32_t status)
{
    if (host != nullptr)
        of(host)->request_stop(status);
}

vmm_status api_region_address(vmm_host_context *host, uint32_t region, uint64_t *address)
{
    if (host == nullptr || address == nullptr)
        return VMM_ERROR_INVALID;
    if (region >= of(host)->region_bases.size())
        return VMM_ERROR_RANGE;
    *address = of(host)->region_bases[region];
    return VMM_OK;
}

uint32_t api_vcpu_count(vmm_host_context *host) { return host == nullptr ? 0 : of(host)->vcpu_count; }
int32_t api_current_vcpu(vmm_host_context *) { return t_current_vcpu; }

// vCPU introspection lives in vmm's vCPU threads: not offered across the boundary.
vmm_status api_vcpu_info(vmm_host_context *, uint32_t, vmm_vcpu_info *) { return VMM_ERROR_UNSUPPORTED; }
vmm_status api_get_registers(vmm_host_context *, uint32_t, vmm_vcpu_registers *) { return VMM_ERROR_UNSUPPORTED; }
vmm_status api_set_registers(vmm_host_context *, uint32_t, const vmm_vcpu_registers *)
{
    return VMM_ERROR_UNSUPPORTED;
}

bool runtime_allowed(vmm_host_context *host, const char *service)
{
    if (host == nullptr)
        return false;
    if (!of(host)->realized) {
        of(host)->log(VMM_LOG_ERROR, std::string(service) + ": refused before realize");
        return false;
    }
    return true;
}

vmm_status api_irq_set_level(vmm_host_context *host, uint32_t line, uint32_t level)
{
    if (!runtime_allowed(host, "irq_set_level"))
        return VMM_ERROR_UNSUPPORTED;
    if (line >= of(host)->irq_count)
        return VMM_ERROR_RANGE;
    return of(host)->rpc(isolation::msg_irq_set_level, {line, level});
}

vmm_status api_irq_pulse(vmm_host_context *host, uint32_t line)
{
    if (!runtime_allowed(host, "irq_pulse"))
        return VMM_ERROR_UNSUPPORTED;
    ChildHost &h = *of(host);
    if (line >= h.irq_count)
        return VMM_ERROR_RANGE;
    const int fd = line < h.irq_fds.size() ? h.irq_fds[line] : -1;
    if (fd < 0)
        return VMM_OK; // a line to no controller
    const uint64_t one = 1;
    return ::write(fd, &one, sizeof one) == sizeof one ? VMM_OK : VMM_ERROR;
}

vmm_status api_msi_send(vmm_host_context *host, uint64_t address, uint32_t data)
{
    if (!runtime_allowed(host, "msi_send"))
        return VMM_ERROR_UNSUPPORTED;
    return of(host)->rpc(isolation::msg_msi_send, {address, data});
}

int32_t api_irq_eventfd(vmm_host_context *host, uint32_t line)
{
    if (host == nullptr || !of(host)->realized || line >= of(host)->irq_fds.size())
        return -1;
    return of(host)->irq_fds[line];
}

vmm_status api_timer_create(vmm_host_context *host, vmm_event_fn fn, void *opaque, uint64_t *timer)
{
    if (!runtime_allowed(host, "timer_create"))
        return VMM_ERROR_UNSUPPORTED;
    return of(host)->runtime().timer_create(fn, opaque, timer);
}
vmm_status api_timer_arm(vmm_host_context *host, uint64_t timer, uint64_t delay, uint64_t period)
{
    if (!runtime_allowed(host, "timer_arm"))
        return VMM_ERROR_UNSUPPORTED;
    return of(host)->runtime().timer_arm(timer, delay, period);
}
vmm_status api_timer_cancel(vmm_host_context *host, uint64_t timer)
{
    if (!runtime_allowed(host, "timer_cancel"))
        return VMM_ERROR_UNSUPPORTED;
    return of(host)->runtime().timer_cancel(timer);
}
vmm_status api_fd_watch(vmm_host_context *host, int32_t fd, uint32_t events, vmm_event_fn fn, void *opaque,
                        uint64_t *watch)
{
    if (!runtime_allowed(host, "fd_watch"))
        return VMM_ERROR_UNSUPPORTED;
    return of(host)->runtime().fd_watch(fd, events, fn, opaque, watch);
}
vmm_status api_fd_watch_update(vmm_host_context *host, uint64_t watch, uint32_t events)
{
    if (!runtime_allowed(host, "fd_watch_update"))
        return VMM_ERROR_UNSUPPORTED;
    return of(host)->runtime().fd_watch_update(watch, events);
}
vmm_status api_doorbell_add(vmm_host_context *host, const vmm_doorbell *doorbell, vmm_event_fn fn, void *opaque,
                            uint64_t *handle)
{
    if (!runtime_allowed(host, "doorbell_add"))
        return VMM_ERROR_UNSUPPORTED;
    if (doorbell == nullptr || doorbell->struct_size < sizeof(vmm_doorbell) || fn == nullptr || handle == nullptr)
        return VMM_ERROR_INVALID;
    return of(host)->runtime().doorbell_add(*doorbell, fn, opaque, handle);
}
vmm_status api_release(vmm_host_context *host, uint64_t handle)
{
    if (host == nullptr)
        return VMM_ERROR_INVALID;
    return of(host)->runtime().release(handle);
}
uint64_t api_clock_ns(vmm_host_context *)
{
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(now.tv_nsec);
}

const vmm_host_api kApi = [] {
    vmm_host_api api{};
    api.struct_size = sizeof(vmm_host_api);
    api.abi_version = VMM_ABI_VERSION;
    api.log = api_log;
    api.guest_read = api_guest_read;
    api.guest_write = api_guest_write;
    api.guest_map = api_guest_map;
    api.request_stop = api_request_stop;
    api.region_address = api_region_address;
    api.vcpu_count = api_vcpu_count;
    api.current_vcpu = api_current_vcpu;
    api.vcpu_info = api_vcpu_info;
    api.get_vcpu_registers = api_get_registers;
    api.set_vcpu_registers = api_set_registers;
    api.irq_set_level = api_irq_set_level;
    api.irq_pulse = api_irq_pulse;
    api.msi_send = api_msi_send;
    api.irq_eventfd = api_irq_eventfd;
    api.timer_create = api_timer_create;
    api.timer_arm = api_timer_arm;
    api.timer_cancel = api_timer_cancel;
    api.fd_watch = api_fd_watch;
    api.fd_watch_update = api_fd_watch_update;
    api.doorbell_add = api_doorbell_add;
    api.release = api_release;
    api.clock_ns = api_clock_ns;
    return api;
}();

} // namespace

ChildHost::ChildHost(int channel, int rpc)
    : channel_(channel), rpc_(rpc), runtime_(std::make_unique<ChildRuntime>(*this))
{
}

ChildHost::~ChildHost() = default;

const vmm_host_api &ChildHost::api() const { return kApi; }

const GuestRegion *ChildHost::find(uint64_t gpa, uint64_t size, bool allow_rom) const
{
    for (const GuestRegion &r : memory) {
        if (gpa >= r.gpa && size <= r.size && gpa - r.gpa <= r.size - size)
            return (r.read_only && !allow_rom) ? nullptr : &r;
    }
    return nullptr;
}

void ChildHost::log(uint32_t level, const std::string &text)
{
    isolation::Writer message(isolation::msg_log);
    message.u32(level).str(text);
    const std::lock_guard lock(send_mutex_);
    if (isolation::send_message(channel_, message))
        ++messages_sent;
}

void ChildHost::request_stop(int32_t status)
{
    isolation::Writer message(isolation::msg_request_stop);
    message.u32(static_cast<uint32_t>(status));
    const std::lock_guard lock(send_mutex_);
    if (isolation::send_message(channel_, message))
        ++messages_sent;
}

vmm_status ChildHost::rpc(uint32_t type, const std::vector<uint64_t> &arguments, uint64_t *value)
{
    isolation::Writer message(type);
    message.u32(static_cast<uint32_t>(arguments.size()));
    for (uint64_t a : arguments)
        message.u64(a);
    const std::lock_guard lock(rpc_mutex_);
    if (!isolation::send_message(rpc_, message))
        _exit(70); // vmm is gone: nothing left to serve
    auto reply = isolation::receive_message(rpc_);
    if (!reply)
        _exit(70);
    isolation::Reader reader(reply->bytes.data(), reply->bytes.size());
    const auto status = static_cast<vmm_status>(reader.u32());
    const uint64_t v = reader.u64();
    if (value != nullptr)
        *value = v;
    return reader.ok() ? status : VMM_ERROR;
}

} // namespace vmm::device_host
