#include "runtime/device_runtime.hpp"

#include "plugin/plugin_call.hpp"
#include "plugin/plugin_crash.hpp"
#include "runtime/event_loop.hpp"
#include "runtime/interrupt_lines.hpp"
#include "support/errors.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace vmm {
namespace {

constexpr uint32_t kLoggedRefusals = 10;

std::atomic<uint64_t> next_handle{1};

uint32_t to_epoll(uint32_t events)
{
    return ((events & VMM_FD_READABLE) ? EPOLLIN : 0u) | ((events & VMM_FD_WRITABLE) ? EPOLLOUT : 0u);
}

uint32_t from_epoll(uint32_t events)
{
    return ((events & EPOLLIN) ? VMM_FD_READABLE : 0u) | ((events & EPOLLOUT) ? VMM_FD_WRITABLE : 0u) |
           ((events & (EPOLLHUP | EPOLLRDHUP)) ? VMM_FD_HANGUP : 0u) | ((events & EPOLLERR) ? VMM_FD_ERROR : 0u);
}

itimerspec timer_spec(uint64_t delay_ns, uint64_t period_ns)
{
    // A zero it_value disarms a timerfd: "at once" is the next nanosecond.
    const uint64_t first = delay_ns == 0 ? 1 : delay_ns;
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(first / 1000000000u);
    spec.it_value.tv_nsec = static_cast<long>(first % 1000000000u);
    spec.it_interval.tv_sec = static_cast<time_t>(period_ns / 1000000000u);
    spec.it_interval.tv_nsec = static_cast<long>(period_ns % 1000000000u);
    return spec;
}

// Reads an 8-byte counter (timerfd expirations, eventfd rings); 0 if none.
uint64_t read_counter(int fd)
{
    uint64_t value = 0;
    return ::read(fd, &value, sizeof value) == sizeof value ? value : 0;
}

} // namespace

const char *device_phase_name(DevicePhase phase)
{
    switch (phase) {
    case DevicePhase::created: return "before realize";
    case DevicePhase::realized: return "while running";
    case DevicePhase::quiescent: return "while quiescent";
    case DevicePhase::destroying: return "during or after destroy";
    }
    return "?";
}

DeviceRuntime::DeviceRuntime(std::string device, std::string plugin, std::shared_ptr<spdlog::logger> logger,
                             std::vector<RuntimeRegion> regions, std::vector<std::optional<uint32_t>> lines,
                             LockFn lock, ErrorFn error)
    : device_(std::move(device)), plugin_(std::move(plugin)), logger_(std::move(logger)),
      regions_(std::move(regions)), lines_(std::move(lines)), lock_(std::move(lock)), error_(std::move(error))
{
}

DeviceRuntime::~DeviceRuntime() { release_all(); }

bool DeviceRuntime::allowed(const char *service)
{
    const DevicePhase phase = phase_.load();
    if (phase == DevicePhase::realized || phase == DevicePhase::quiescent)
        return true;
    const uint32_t count = ++refusals_logged_;
    if (count <= kLoggedRefusals)
        fail("plugin '{}' called {} {}: refused (runtime services work from realize until destroy){}",
                       plugin_, service, device_phase_name(phase),
                       count == kLoggedRefusals ? "; further refusals are not logged" : "");
    return false;
}

void DeviceRuntime::begin_realize(const RuntimeServices &services)
{
    services_ = services;
    phase_ = DevicePhase::realized;
}

void DeviceRuntime::mute()
{
    std::lock_guard lock(mutex_);
    muted_ = true;
    phase_ = DevicePhase::quiescent;
    for (auto &[handle, r] : registrations_)
        services_.loop->modify(r->loop_token, 0);
}

void DeviceRuntime::unmute()
{
    std::lock_guard lock(mutex_);
    muted_ = false;
    if (phase_.load() == DevicePhase::quiescent)
        phase_ = DevicePhase::realized;
    for (auto &[handle, r] : registrations_)
        services_.loop->modify(r->loop_token, r->epoll_events);
}

void DeviceRuntime::begin_destroy() { phase_ = DevicePhase::destroying; }

void DeviceRuntime::release_all()
{
    std::map<uint64_t, std::shared_ptr<Registration>> all;
    {
        std::lock_guard lock(mutex_);
        all.swap(registrations_);
    }
    for (auto &[handle, r] : all) {
        wait_until_not_running(handle);
        remove(r);
    }
    // Once only: destroy calls this, and so does the destructor, which for a
    // retired host context runs at process exit, after the Machine and its
    // InterruptLines are gone (a use after free that crashed every irqchip
    // machine with a device holding lines, at exit).
    if (services_.lines != nullptr)
        services_.lines->drop_source(this);
    services_.lines = nullptr;
}

void DeviceRuntime::detach_doorbells()
{
    std::lock_guard lock(mutex_);
    for (auto &[handle, r] : registrations_) {
        if (r->kind == Kind::doorbell && r->attached)
            r->attached = !ioeventfd(*r, false);
    }
}

void DeviceRuntime::attach_doorbells()
{
    std::lock_guard lock(mutex_);
    for (auto &[handle, r] : registrations_) {
        if (r->kind == Kind::doorbell && !r->attached) {
            r->attached = ioeventfd(*r, true);
            if (!r->attached)
                logger_->error("doorbell at {:#x} could not be registered again: its writes now exit to userspace",
                               r->address);
        }
    }
}

// ---- interrupts -----------------------------------------------------------

vmm_status DeviceRuntime::irq_set_level(uint32_t line, uint32_t level)
{
    if (!allowed("irq_set_level"))
        return VMM_ERROR_UNSUPPORTED;
    if (line >= lines_.size())
        return VMM_ERROR_RANGE;
    if (!lines_[line] || services_.lines == nullptr)
        return VMM_OK; // a wire to no controller
    return services_.lines->set_level(*lines_[line], this, level != 0);
}

vmm_status DeviceRuntime::irq_pulse(uint32_t line)
{
    if (!allowed("irq_pulse"))
        return VMM_ERROR_UNSUPPORTED;
    if (line >= lines_.size())
        return VMM_ERROR_RANGE;
    if (!lines_[line] || services_.lines == nullptr)
        return VMM_OK;
    return services_.lines->pulse(*lines_[line]);
}

vmm_status DeviceRuntime::msi_send(uint64_t address, uint32_t data)
{
    if (!allowed("msi_send"))
        return VMM_ERROR_UNSUPPORTED;
    if (services_.lines == nullptr)
        return VMM_ERROR_UNSUPPORTED;
    return services_.lines->send_msi(address, data);
}

int32_t DeviceRuntime::irq_eventfd(uint32_t line)
{
    if (!allowed("irq_eventfd") || line >= lines_.size() || !lines_[line] || services_.lines == nullptr)
        return -1;
    return services_.lines->eventfd(*lines_[line]);
}

// ---- registrations ----------------------------------------------------------

uint64_t DeviceRuntime::add(std::shared_ptr<Registration> registration)
{
    const uint64_t handle = next_handle++;
    std::lock_guard lock(mutex_);
    registration->loop_token = services_.loop->add(registration->fd, muted_ ? 0 : registration->epoll_events,
                                                   [this, handle](uint32_t events) { dispatch(handle, events); });
    registrations_.emplace(handle, std::move(registration));
    return handle;
}

std::shared_ptr<DeviceRuntime::Registration> DeviceRuntime::new_registration(Kind kind, int fd, uint32_t epoll_events,
                                                                            vmm_event_fn fn, void *opaque) const
{
    auto r = std::make_shared<Registration>();
    r->kind = kind;
    r->fd = fd;
    r->epoll_events = epoll_events;
    r->fn = fn;
    r->opaque = opaque;
    return r;
}

vmm_status DeviceRuntime::start(const std::shared_ptr<Registration> &r, const char *service, vmm_status status,
                                uint64_t *handle)
{
    try {
        *handle = add(r);
        return VMM_OK;
    } catch (const SystemError &e) {
        // fd_watch: EPERM for a regular file (always ready), EEXIST when
        // watched twice; the others: the kernel out of epoll watches.
        fail("{} of descriptor {}: {}", service, r->fd, e.what());
        return status;
    }
}

std::shared_ptr<DeviceRuntime::Registration> DeviceRuntime::find(uint64_t handle, Kind kind)
{
    std::lock_guard lock(mutex_);
    const auto it = registrations_.find(handle);
    if (it == registrations_.end() || it->second->kind != kind)
        return nullptr;
    return it->second;
}

void DeviceRuntime::remove(const std::shared_ptr<Registration> &r)
{
    if (services_.loop != nullptr)
        services_.loop->remove(r->loop_token);
    if (r->kind == Kind::doorbell && r->attached)
        ioeventfd(*r, false);
}

void DeviceRuntime::wait_until_not_running(uint64_t handle)
{
    if (services_.loop == nullptr || services_.loop->on_loop_thread())
        return; // from inside the callback itself: it finishes after us
    std::unique_lock lock(mutex_);
    callback_done_.wait(lock, [&] { return running_handle_ != handle; });
}

void DeviceRuntime::dispatch(uint64_t handle, uint32_t epoll_events)
{
    const auto call_lock = lock_();
    std::shared_ptr<Registration> r;
    {
        std::lock_guard lock(mutex_);
        const auto it = registrations_.find(handle);
        if (it == registrations_.end() || muted_)
            return; // released or quiesced while the event waited for the lock
        r = it->second;
        running_handle_ = handle;
    }
    uint64_t detail = 0;
    switch (r->kind) {
    case Kind::timer:
    case Kind::doorbell: detail = read_counter(r->fd); break;
    case Kind::watch: detail = from_epoll(epoll_events); break;
    }
    if (detail != 0) {
        const PluginCallMarker marker(device_.c_str(), plugin_.c_str(), "a runtime callback"); // names it in a crash
        if (const auto thrown = call_plugin([&] { r->fn(r->opaque, handle, detail); }))
            logger_->error("runtime callback: plugin '{}' {}: {}", plugin_, kThrewAcrossAbi, *thrown);
    }
    std::lock_guard lock(mutex_);
    running_handle_ = 0;
    callback_done_.notify_all();
}

vmm_status DeviceRuntime::release(uint64_t handle)
{
    std::shared_ptr<Registration> r;
    {
        std::lock_guard lock(mutex_);
        const auto it = registrations_.find(handle);
        if (it == registrations_.end())
            return VMM_ERROR_INVALID;
        r = it->second;
        registrations_.erase(it);
    }
    wait_until_not_running(handle);
    remove(r);
    return VMM_OK;
}

uint64_t DeviceRuntime::clock_ns()
{
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

// ---- timers -------------------------------------------------------------------

vmm_status DeviceRuntime::timer_create(vmm_event_fn fn, void *opaque, uint64_t *handle)
{
    if (!allowed("timer_create"))
        return VMM_ERROR_UNSUPPORTED;
    if (fn == nullptr || handle == nullptr)
        return VMM_ERROR_INVALID;
    UniqueFd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (!timer.valid()) {
        fail("timer_create: {}", errno_message("timerfd_create", errno));
        return VMM_ERROR;
    }
    auto r = new_registration(Kind::timer, timer.get(), EPOLLIN, fn, opaque);
    r->owned = std::move(timer);
    return start(r, "timer_create", VMM_ERROR, handle);
}

vmm_status DeviceRuntime::timer_arm(uint64_t handle, uint64_t delay_ns, uint64_t period_ns)
{
    if (!allowed("timer_arm"))
        return VMM_ERROR_UNSUPPORTED;
    const auto r = find(handle, Kind::timer);
    if (r == nullptr)
        return VMM_ERROR_INVALID;
    const itimerspec spec = timer_spec(delay_ns, period_ns);
    return ::timerfd_settime(r->fd, 0, &spec, nullptr) == 0 ? VMM_OK : VMM_ERROR_INVALID;
}

vmm_status DeviceRuntime::timer_cancel(uint64_t handle)
{
    if (!allowed("timer_cancel"))
        return VMM_ERROR_UNSUPPORTED;
    const auto r = find(handle, Kind::timer);
    if (r == nullptr)
        return VMM_ERROR_INVALID;
    const itimerspec off{};
    ::timerfd_settime(r->fd, 0, &off, nullptr);
    read_counter(r->fd); // drop expirations not delivered yet
    return VMM_OK;
}

// ---- watches -------------------------------------------------------------------

vmm_status DeviceRuntime::fd_watch(int32_t fd, uint32_t events, vmm_event_fn fn, void *opaque, uint64_t *handle)
{
    if (!allowed("fd_watch"))
        return VMM_ERROR_UNSUPPORTED;
    if (fn == nullptr || handle == nullptr || fd < 0 || (events & ~(VMM_FD_READABLE | VMM_FD_WRITABLE)) != 0 ||
        ::fcntl(fd, F_GETFD) < 0)
        return VMM_ERROR_INVALID;
    return start(new_registration(Kind::watch, fd, to_epoll(events) | EPOLLRDHUP, fn, opaque), "fd_watch",
                 VMM_ERROR_INVALID, handle);
}

vmm_status DeviceRuntime::fd_watch_update(uint64_t handle, uint32_t events)
{
    if (!allowed("fd_watch_update"))
        return VMM_ERROR_UNSUPPORTED;
    if ((events & ~(VMM_FD_READABLE | VMM_FD_WRITABLE)) != 0)
        return VMM_ERROR_INVALID;
    std::lock_guard lock(mutex_);
    const auto it = registrations_.find(handle);
    if (it == registrations_.end() || it->second->kind != Kind::watch)
        return VMM_ERROR_INVALID;
    it->second->epoll_events = to_epoll(events) | EPOLLRDHUP;
    if (!muted_ && !services_.loop->modify(it->second->loop_token, it->second->epoll_events))
        return VMM_ERROR;
    return VMM_OK;
}

// ---- doorbells -----------------------------------------------------------------

bool DeviceRuntime::ioeventfd(const Registration &r, bool assign)
{
    kvm_ioeventfd request{};
    request.addr = r.address;
    request.len = r.size;
    request.fd = r.owned.get();
    request.flags = (r.pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | (r.match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
                    (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN);
    request.datamatch = r.match.value_or(0);
    return ::ioctl(services_.vm_fd, KVM_IOEVENTFD, &request) == 0;
}

vmm_status DeviceRuntime::doorbell_add(const vmm_doorbell &d, vmm_event_fn fn, void *opaque, uint64_t *handle)
{
    if (!allowed("doorbell_add"))
        return VMM_ERROR_UNSUPPORTED;
    if (fn == nullptr || handle == nullptr)
        return VMM_ERROR_INVALID;
    if (d.region >= regions_.size()) {
        fail("doorbell_add: region {} does not exist (the device has {})", d.region, regions_.size());
        return VMM_ERROR_RANGE;
    }
    const RuntimeRegion &region = regions_[d.region];
    const bool pio = region.space == Space::pio;
    const bool size_ok = d.size == 1 || d.size == 2 || d.size == 4 || (!pio && d.size == 8);
    if (!size_ok) {
        fail("doorbell_add: a doorbell of {} bytes in a {} region (sizes: 1, 2, 4{})", d.size,
                       space_name(region.space), pio ? "" : ", 8");
        return VMM_ERROR_INVALID;
    }
    if (d.offset >= region.size || d.size > region.size - d.offset) {
        fail("doorbell_add: {} byte(s) at offset {:#x} lie outside region {} ({} {:#x} bytes)", d.size,
                       d.offset, d.region, space_name(region.space), region.size);
        return VMM_ERROR_RANGE;
    }
    const bool match = (d.flags & VMM_DOORBELL_MATCH_VALUE) != 0;
    if ((d.flags & ~VMM_DOORBELL_MATCH_VALUE) != 0 || (match && d.size < 8 && (d.value >> (d.size * 8)) != 0)) {
        fail("doorbell_add: unknown flags {:#x} or a value {:#x} wider than {} byte(s)", d.flags, d.value,
                       d.size);
        return VMM_ERROR_INVALID;
    }
    UniqueFd bell(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!bell.valid()) {
        fail("doorbell_add: {}", errno_message("eventfd", errno));
        return VMM_ERROR;
    }
    auto r = new_registration(Kind::doorbell, bell.get(), EPOLLIN, fn, opaque);
    r->owned = std::move(bell);
    r->address = region.base + d.offset;
    r->size = d.size;
    r->pio = pio;
    if (match)
        r->match = d.value;
    if (!ioeventfd(*r, true)) {
        fail("doorbell_add: KVM refused a doorbell at {} {:#x} ({} bytes): {}", space_name(region.space),
                       r->address, d.size, std::strerror(errno));
        return errno == EEXIST ? VMM_ERROR_INVALID : VMM_ERROR;
    }
    r->attached = true;
    const vmm_status status = start(r, "doorbell_add", VMM_ERROR, handle);
    if (status != VMM_OK) {
        ioeventfd(*r, false); // KVM must not signal a descriptor about to close
        r->attached = false;
    }
    return status;
}

} // namespace vmm
