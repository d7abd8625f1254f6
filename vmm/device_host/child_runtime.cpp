#include "device_host/child_host.hpp"

#include "isolation/channel.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>

namespace vmm::device_host {
namespace {

uint32_t epoll_events_of(uint32_t events)
{
    return ((events & VMM_FD_READABLE) ? EPOLLIN : 0u) | ((events & VMM_FD_WRITABLE) ? EPOLLOUT : 0u);
}

uint32_t vmm_events_of(uint32_t events)
{
    return ((events & EPOLLIN) ? VMM_FD_READABLE : 0u) | ((events & EPOLLOUT) ? VMM_FD_WRITABLE : 0u) |
           ((events & EPOLLHUP) ? VMM_FD_HANGUP : 0u) | ((events & EPOLLERR) ? VMM_FD_ERROR : 0u);
}

timespec to_timespec(uint64_t ns)
{
    return timespec{static_cast<time_t>(ns / 1'000'000'000ull), static_cast<long>(ns % 1'000'000'000ull)};
}

} // namespace

ChildRuntime::ChildRuntime(ChildHost &host) : host_(host)
{
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = 0;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &event);
}

ChildRuntime::~ChildRuntime()
{
    stop();
    ::close(epoll_);
    ::close(wake_);
}

void ChildRuntime::start() { thread_ = std::thread([this] { run(); }); }

void ChildRuntime::stop()
{
    if (!thread_.joinable())
        return;
    const uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
    thread_.join();
}

void ChildRuntime::run()
{
    epoll_event events[16];
    for (;;) {
        const int n = ::epoll_wait(epoll_, events, 16, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return;
        for (int i = 0; i < n; ++i) {
            const uint64_t handle = events[i].data.u64;
            if (handle == 0)
                return;
            dispatch(handle, 0, events[i].events);
        }
    }
}

void ChildRuntime::dispatch(uint64_t handle, uint64_t, uint32_t epoll_events)
{
    std::shared_ptr<Registration> registration;
    uint64_t detail = 0;
    {
        const std::lock_guard lock(mutex_);
        const auto it = registrations_.find(handle);
        if (it == registrations_.end())
            return;
        registration = it->second;
        if (registration->kind == Registration::Kind::timer) {
            uint64_t expirations = 0;
            if (::read(registration->fd, &expirations, sizeof expirations) != sizeof expirations)
                return;
            if (muted_) {
                registration->pending += expirations;
                return;
            }
            detail = expirations;
        } else {
            detail = vmm_events_of(epoll_events);
            if (muted_) {
                // Level-triggered: stop listening until resume, remember what came.
                registration->pending_events |= static_cast<uint32_t>(detail);
                epoll_event none{};
                none.data.u64 = handle;
                ::epoll_ctl(epoll_, EPOLL_CTL_MOD, registration->fd, &none);
                return;
            }
        }
    }
    call(registration, handle, detail);
}

void ChildRuntime::call(const std::shared_ptr<Registration> &registration, uint64_t handle, uint64_t detail)
{
    std::unique_lock<std::mutex> plugin_lock(host_.plugin_mutex, std::defer_lock);
    if (!host_.thread_safe)
        plugin_lock.lock();
    {
        // Released while we waited for the plugin: not called again.
        const std::lock_guard lock(mutex_);
        if (registrations_.count(handle) == 0)
            return;
    }
    registration->fn(registration->opaque, handle, detail);
}

vmm_status ChildRuntime::timer_create(vmm_event_fn fn, void *opaque, uint64_t *handle)
{
    if (fn == nullptr || handle == nullptr)
        return VMM_ERROR_INVALID;
    const int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (fd < 0)
        return VMM_ERROR;
    auto registration = std::make_shared<Registration>();
    registration->kind = Registration::Kind::timer;
    registration->fd = fd;
    registration->fn = fn;
    registration->opaque = opaque;
    const std::lock_guard lock(mutex_);
    const uint64_t id = next_handle_++;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = id;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) {
        ::close(fd);
        return VMM_ERROR;
    }
    registrations_[id] = registration;
    *handle = id;
    return VMM_OK;
}

vmm_status ChildRuntime::timer_arm(uint64_t handle, uint64_t delay_ns, uint64_t period_ns)
{
    const std::lock_guard lock(mutex_);
    const auto it = registrations_.find(handle);
    if (it == registrations_.end() || it->second->kind != Registration::Kind::timer)
        return VMM_ERROR_INVALID;
    itimerspec spec{};
    spec.it_value = to_timespec(delay_ns == 0 ? 1 : delay_ns);
    spec.it_interval = to_timespec(period_ns);
    return ::timerfd_settime(it->second->fd, 0, &spec, nullptr) == 0 ? VMM_OK : VMM_ERROR_INVALID;
}

vmm_status ChildRuntime::timer_cancel(uint64_t handle)
{
    const std::lock_guard lock(mutex_);
    const auto it = registrations_.find(handle);
    if (it == registrations_.end() || it->second->kind != Registration::Kind::timer)
        return VMM_ERROR_INVALID;
    itimerspec spec{};
    ::timerfd_settime(it->second->fd, 0, &spec, nullptr);
    it->second->pending = 0;
    return VMM_OK;
}

vmm_status ChildRuntime::fd_watch(int32_t fd, uint32_t events, vmm_event_fn fn, void *opaque, uint64_t *handle)
{
    if (fd < 0 || fn == nullptr || handle == nullptr || (events & ~(VMM_FD_READABLE | VMM_FD_WRITABLE)) != 0)
        return VMM_ERROR_INVALID;
    auto registration = std::make_shared<Registration>();
    registration->kind = Registration::Kind::watch;
    registration->fd = fd;
    registration->events = events;
    registration->fn = fn;
    registration->opaque = opaque;
    const std::lock_guard lock(mutex_);
    const uint64_t id = next_handle_++;
    epoll_event event{};
    event.events = muted_ ? 0 : epoll_events_of(events);
    event.data.u64 = id;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0)
        return VMM_ERROR_INVALID;
    registrations_[id] = registration;
    *handle = id;
    return VMM_OK;
}

vmm_status ChildRuntime::fd_watch_update(uint64_t handle, uint32_t events)
{
    const std::lock_guard lock(mutex_);
    const auto it = registrations_.find(handle);
    if (it == registrations_.end() || it->second->kind != Registration::Kind::watch)
        return VMM_ERROR_INVALID;
    it->second->events = events;
    epoll_event event{};
    event.events = muted_ ? 0 : epoll_events_of(events);
    event.data.u64 = handle;
    return ::epoll_ctl(epoll_, EPOLL_CTL_MOD, it->second->fd, &event) == 0 ? VMM_OK : VMM_ERROR;
}

vmm_status ChildRuntime::doorbell_add(const vmm_doorbell &doorbell, vmm_event_fn fn, void *opaque, uint64_t *handle)
{
    uint64_t id;
    {
        const std::lock_guard lock(mutex_);
        id = next_handle_++;
        auto registration = std::make_shared<Registration>();
        registration->kind = Registration::Kind::doorbell;
        registration->fn = fn;
        registration->opaque = opaque;
        registrations_[id] = registration;
    }
    const vmm_status status = host_.rpc(isolation::msg_doorbell_add, {id, doorbell.region, doorbell.offset,
                                                                      doorbell.size, doorbell.flags, doorbell.value});
    if (status != VMM_OK) {
        const std::lock_guard lock(mutex_);
        registrations_.erase(id);
        return status;
    }
    *handle = id;
    return VMM_OK;
}

void ChildRuntime::doorbell_rang(uint64_t handle, uint64_t rings)
{
    std::shared_ptr<Registration> registration;
    {
        const std::lock_guard lock(mutex_);
        const auto it = registrations_.find(handle);
        if (it == registrations_.end() || it->second->kind != Registration::Kind::doorbell)
            return;
        registration = it->second;
        if (muted_) {
            registration->pending += rings;
            return;
        }
    }
    call(registration, handle, rings);
}

vmm_status ChildRuntime::release(uint64_t handle)
{
    std::shared_ptr<Registration> registration;
    {
        const std::lock_guard lock(mutex_);
        const auto it = registrations_.find(handle);
        if (it == registrations_.end())
            return VMM_ERROR_INVALID;
        registration = it->second;
        registrations_.erase(it);
        if (registration->fd >= 0)
            ::epoll_ctl(epoll_, EPOLL_CTL_DEL, registration->fd, nullptr);
        if (registration->kind == Registration::Kind::timer)
            ::close(registration->fd);
    }
    if (registration->kind == Registration::Kind::doorbell)
        host_.rpc(isolation::msg_doorbell_release, {handle});
    return VMM_OK;
}

void ChildRuntime::release_all()
{
    std::vector<uint64_t> handles;
    {
        const std::lock_guard lock(mutex_);
        for (const auto &[handle, registration] : registrations_)
            handles.push_back(handle);
    }
    for (uint64_t handle : handles)
        release(handle);
}

void ChildRuntime::mute()
{
    const std::lock_guard lock(mutex_);
    muted_ = true;
}

void ChildRuntime::unmute()
{
    std::vector<std::pair<uint64_t, uint64_t>> due;
    {
        const std::lock_guard lock(mutex_);
        muted_ = false;
        for (const auto &[handle, registration] : registrations_) {
            if (registration->kind == Registration::Kind::watch) {
                epoll_event event{};
                event.events = epoll_events_of(registration->events);
                event.data.u64 = handle;
                ::epoll_ctl(epoll_, EPOLL_CTL_MOD, registration->fd, &event);
                registration->pending_events = 0; // level-triggered: epoll reports them again
            } else if (registration->pending != 0) {
                due.emplace_back(handle, registration->pending);
                registration->pending = 0;
            }
        }
    }
    // Delivered on the caller's thread (resume holds no plugin lock here).
    for (const auto &[handle, count] : due) {
        std::shared_ptr<Registration> registration;
        {
            const std::lock_guard lock(mutex_);
            const auto it = registrations_.find(handle);
            if (it == registrations_.end())
                continue;
            registration = it->second;
        }
        call(registration, handle, count);
    }
}

} // namespace vmm::device_host
