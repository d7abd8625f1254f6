// One device instance's share of the runtime (ABI 1.4): its interrupt
// lines, timers, file-descriptor watches and doorbells, and when it may use
// them. The C entry points in plugin/host_api.cpp call these.
//
// Every callback into the plugin runs on the event loop under the
// instance's lock (the `lock` function given at construction), and only
// after checking, under that lock, that the registration still exists and
// the device is not quiescent: a registration released or muted by a call
// holding the lock is never delivered afterwards.
#pragma once

#include "bus/address_space.hpp"
#include "support/unique_fd.hpp"

#include <vmm/plugin_abi.h>

#include <fmt/format.h>
#include <spdlog/logger.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace vmm {

class EventLoop;
class InterruptLines;

// What the machine lends the device runtimes once the VM exists.
struct RuntimeServices {
    EventLoop *loop = nullptr;
    InterruptLines *lines = nullptr; // nullptr: no irqchip
    int vm_fd = -1;
};

// A device's region as the runtime needs it (doorbells are absolute).
struct RuntimeRegion {
    Space space = Space::pio;
    uint64_t base = 0;
    uint64_t size = 0;
};

enum class DevicePhase {
    created,    // create() ran; runtime services are refused
    realized,   // realize() started: services work, callbacks are delivered
    quiescent,  // quiesce() ran: callbacks are held back until resume
    destroying, // destroy() started or ended: services refused, release works
};
const char *device_phase_name(DevicePhase phase);

class DeviceRuntime {
public:
    using LockFn = std::function<std::unique_lock<std::mutex>()>;
    // Reports a refusal the device should hear about (the instance logs it
    // and keeps it to explain a failed realize).
    using ErrorFn = std::function<void(const std::string &)>;
    // `lines[i]` is the GSI of the device's line i, or nothing when the line
    // reaches no controller (no irqchip).
    DeviceRuntime(std::string device, std::string plugin, std::shared_ptr<spdlog::logger> logger,
                  std::vector<RuntimeRegion> regions, std::vector<std::optional<uint32_t>> lines, LockFn lock,
                  ErrorFn error = {});
    ~DeviceRuntime();
    DeviceRuntime(const DeviceRuntime &) = delete;
    DeviceRuntime &operator=(const DeviceRuntime &) = delete;

    // Lifecycle, driven by DeviceInstance.
    void begin_realize(const RuntimeServices &services);
    void mute();   // quiesce: hold back callbacks
    void unmute(); // resume
    void begin_destroy();
    void release_all(); // after destroy: every registration, every held line
    // Swap: a new instance takes the same doorbell addresses, so the old
    // one's ioeventfds are taken out (and put back if the swap fails).
    void detach_doorbells();
    void attach_doorbells();
    DevicePhase phase() const { return phase_.load(); }
    uint32_t irq_count() const { return static_cast<uint32_t>(lines_.size()); }

    // The services. Each checks the phase first and logs a refusal.
    vmm_status irq_set_level(uint32_t line, uint32_t level);
    vmm_status irq_pulse(uint32_t line);
    vmm_status msi_send(uint64_t address, uint32_t data);
    int32_t irq_eventfd(uint32_t line);
    vmm_status timer_create(vmm_event_fn fn, void *opaque, uint64_t *handle);
    vmm_status timer_arm(uint64_t handle, uint64_t delay_ns, uint64_t period_ns);
    vmm_status timer_cancel(uint64_t handle);
    vmm_status fd_watch(int32_t fd, uint32_t events, vmm_event_fn fn, void *opaque, uint64_t *handle);
    vmm_status fd_watch_update(uint64_t handle, uint32_t events);
    vmm_status doorbell_add(const vmm_doorbell &doorbell, vmm_event_fn fn, void *opaque, uint64_t *handle);
    vmm_status release(uint64_t handle);
    static uint64_t clock_ns();

    // Refuses with a logged line when services are not available now.
    bool allowed(const char *service);

private:
    enum class Kind { timer, watch, doorbell };
    struct Registration {
        Kind kind = Kind::timer;
        UniqueFd owned; // timerfd, or a doorbell's eventfd
        int fd = -1;    // what epoll watches
        uint32_t epoll_events = 0;
        uint64_t loop_token = 0;
        vmm_event_fn fn = nullptr;
        void *opaque = nullptr;
        // Doorbells: the ioeventfd as registered with KVM.
        uint64_t address = 0;
        uint32_t size = 0;
        bool pio = false;
        std::optional<uint64_t> match;
        bool attached = false;
    };

    uint64_t add(std::shared_ptr<Registration> registration);
    std::shared_ptr<Registration> new_registration(Kind kind, int fd, uint32_t epoll_events, vmm_event_fn fn,
                                                   void *opaque) const;
    // add() for a service: the event loop refusing the descriptor is
    // reported and returned as `status`, never thrown (a C plugin called us).
    vmm_status start(const std::shared_ptr<Registration> &registration, const char *service, vmm_status status,
                     uint64_t *handle);
    void dispatch(uint64_t handle, uint32_t epoll_events);
    std::shared_ptr<Registration> find(uint64_t handle, Kind kind);
    void remove(const std::shared_ptr<Registration> &registration);
    bool ioeventfd(const Registration &registration, bool assign);
    void wait_until_not_running(uint64_t handle);
    template <typename... Args>
    void fail(fmt::format_string<Args...> format, Args &&...args)
    {
        const std::string text = fmt::format(format, std::forward<Args>(args)...);
        if (error_)
            error_(text);
        else
            logger_->error("{}", text);
    }

    std::string device_;
    std::string plugin_;
    std::shared_ptr<spdlog::logger> logger_;
    std::vector<RuntimeRegion> regions_;
    std::vector<std::optional<uint32_t>> lines_;
    LockFn lock_;
    ErrorFn error_;
    RuntimeServices services_;
    std::atomic<DevicePhase> phase_{DevicePhase::created};
    std::atomic<uint32_t> refusals_logged_{0};

    std::mutex mutex_; // guards what follows
    std::condition_variable callback_done_;
    std::map<uint64_t, std::shared_ptr<Registration>> registrations_;
    bool muted_ = false;
    uint64_t running_handle_ = 0; // whose callback the loop is in, 0: none
};

} // namespace vmm
