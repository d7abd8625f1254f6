// vmm/sdk/runtime.hpp - the device runtime (ABI 1.4), seen from a C++ device:
// interrupt lines, MSI, timers, file-descriptor watches and doorbells.
//
//   void realize(vmm::sdk::Runtime &runtime) override
//   {
//       irq_ = runtime.irq(0);                       // the device's line 0
//       tick_ = runtime.timer([this](uint64_t) { irq_.pulse(); });
//       tick_.arm(1'000'000, 1'000'000);             // every millisecond
//   }
//
// Handles are RAII: a Timer, FdWatch or Doorbell releases its registration
// when destroyed, so members of the device class clean up by themselves.
// Callbacks run on the VM's event-loop thread, under the device's lock
// (unless the plugin is thread-safe), never at the same time as read/write.
// A callback must not throw: an exception is caught and logged.
#pragma once

#include <vmm/plugin_abi.h>
#include <vmm/sdk/host.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace vmm::sdk {

// A runtime service refused by the host (called before realize, a line or
// region the device does not have, a host older than ABI 1.4...).
class RuntimeError : public std::runtime_error {
public:
    RuntimeError(const std::string &what, vmm_status status) : std::runtime_error(what), status_(status) {}
    vmm_status status() const noexcept { return status_; }

private:
    vmm_status status_;
};

namespace detail {

inline void check_status(vmm_status status, const char *service)
{
    if (status != VMM_OK)
        throw RuntimeError(std::string(service) + " refused by the host (status " + std::to_string(status) + ")",
                           status);
}

// The callback behind one registration, at a stable address (the handle
// object holding it may move).
struct EventTarget {
    Host host;
    std::function<void(uint64_t)> fn;

    static void call(void *opaque, uint64_t, uint64_t detail) noexcept
    {
        auto *target = static_cast<EventTarget *>(opaque);
        try {
            target->fn(detail);
        } catch (const std::exception &e) {
            target->host.logf(LogLevel::error, "runtime callback failed: %s", e.what());
        } catch (...) {
            target->host.logf(LogLevel::error, "runtime callback failed: unknown exception");
        }
    }
};

// A registration that releases itself: the base of Timer, FdWatch, Doorbell.
class Registration {
public:
    Registration() = default;
    Registration(Host host, std::unique_ptr<EventTarget> target, uint64_t handle)
        : host_(host), target_(std::move(target)), handle_(handle)
    {
    }
    ~Registration() { release(); }
    Registration(Registration &&other) noexcept { *this = std::move(other); }
    Registration &operator=(Registration &&other) noexcept
    {
        if (this != &other) {
            release();
            host_ = other.host_;
            target_ = std::move(other.target_);
            handle_ = std::exchange(other.handle_, 0);
        }
        return *this;
    }
    Registration(const Registration &) = delete;
    Registration &operator=(const Registration &) = delete;

    explicit operator bool() const noexcept { return handle_ != 0; }
    uint64_t handle() const noexcept { return handle_; }

    // After this returns the callback is not running (unless this is called
    // from inside it) and never runs again.
    void release() noexcept
    {
        if (handle_ != 0 && host_.provides(&vmm_host_api::release))
            host_.api()->release(host_.context(), handle_);
        handle_ = 0;
        target_.reset();
    }

protected:
    Host host_;
    std::unique_ptr<EventTarget> target_;
    uint64_t handle_ = 0;
};

} // namespace detail

// One of the device's interrupt lines. Copyable; cheap.
class InterruptLine {
public:
    InterruptLine() = default;
    InterruptLine(Host host, uint32_t line) : host_(host), line_(line), valid_(true) {}

    // Level: held until lowered. On a shared line the guest sees the OR of
    // every sharer's level.
    void raise() const { set(true); }
    void lower() const { set(false); }
    void set(bool level) const
    {
        if (valid_)
            detail::check_status(host_.api()->irq_set_level(host_.context(), line_, level ? 1u : 0u), "irq_set_level");
    }
    // Edge: raised and lowered at once (an irqfd write inside the host).
    void pulse() const
    {
        if (valid_)
            detail::check_status(host_.api()->irq_pulse(host_.context(), line_), "irq_pulse");
    }
    // The eventfd whose 8-byte write of 1 pulses the line, or -1.
    int eventfd() const { return valid_ ? host_.api()->irq_eventfd(host_.context(), line_) : -1; }
    explicit operator bool() const noexcept { return valid_; }

private:
    Host host_;
    uint32_t line_ = 0;
    bool valid_ = false;
};

class Timer : public detail::Registration {
public:
    using Registration::Registration;
    // Fire after `delay_ns` (0: at once), then every `period_ns` (0: once).
    void arm(uint64_t delay_ns, uint64_t period_ns = 0) const
    {
        detail::check_status(host_.api()->timer_arm(host_.context(), handle_, delay_ns, period_ns), "timer_arm");
    }
    void cancel() const
    {
        if (handle_ != 0)
            detail::check_status(host_.api()->timer_cancel(host_.context(), handle_), "timer_cancel");
    }
};

class FdWatch : public detail::Registration {
public:
    using Registration::Registration;
    // VMM_FD_READABLE | VMM_FD_WRITABLE, or 0 to wait for nothing for now.
    void update(uint32_t events) const
    {
        detail::check_status(host_.api()->fd_watch_update(host_.context(), handle_, events), "fd_watch_update");
    }
};

class Doorbell : public detail::Registration {
public:
    using Registration::Registration;
};

// What realize() receives. Every method throws RuntimeError when the host
// refuses (the device then fails to realize, reported as a configuration
// error naming it).
class Runtime {
public:
    explicit Runtime(Host host, uint32_t irq_count, bool has_irqchip)
        : host_(host), irq_count_(irq_count), has_irqchip_(has_irqchip)
    {
    }

    // The host supports the runtime (ABI 1.4 or later).
    bool available() const noexcept { return host_.provides(&vmm_host_api::clock_ns); }
    uint32_t irq_count() const noexcept { return irq_count_; }
    // False: the machine has no interrupt controller, lines reach nothing.
    bool has_irqchip() const noexcept { return has_irqchip_; }

    InterruptLine irq(uint32_t line) const
    {
        require();
        if (line >= irq_count_)
            throw RuntimeError("interrupt line " + std::to_string(line) + " does not exist (the device has " +
                                   std::to_string(irq_count_) + ")",
                               VMM_ERROR_RANGE);
        return InterruptLine(host_, line);
    }

    void msi(uint64_t address, uint32_t data) const
    {
        require();
        detail::check_status(host_.api()->msi_send(host_.context(), address, data), "msi_send");
    }

    Timer timer(std::function<void(uint64_t expirations)> fn) const
    {
        require();
        auto target = make_target(std::move(fn));
        uint64_t handle = 0;
        detail::check_status(host_.api()->timer_create(host_.context(), &detail::EventTarget::call, target.get(),
                                                       &handle),
                             "timer_create");
        return Timer(host_, std::move(target), handle);
    }

    FdWatch watch(int fd, uint32_t events, std::function<void(uint32_t events)> fn) const
    {
        require();
        auto target = make_target([fn = std::move(fn)](uint64_t detail) { fn(static_cast<uint32_t>(detail)); });
        uint64_t handle = 0;
        detail::check_status(host_.api()->fd_watch(host_.context(), fd, events, &detail::EventTarget::call,
                                                   target.get(), &handle),
                             "fd_watch");
        return FdWatch(host_, std::move(target), handle);
    }

    // A doorbell at `offset` of region `region`, for writes of `size` bytes
    // (and only of `value`, when given).
    Doorbell doorbell(uint32_t region, uint64_t offset, uint32_t size, std::optional<uint64_t> value,
                      std::function<void(uint64_t rings)> fn) const
    {
        require();
        vmm_doorbell d{};
        d.struct_size = sizeof d;
        d.region = region;
        d.offset = offset;
        d.size = size;
        d.flags = value ? VMM_DOORBELL_MATCH_VALUE : 0u;
        d.value = value.value_or(0);
        auto target = make_target(std::move(fn));
        uint64_t handle = 0;
        detail::check_status(
            host_.api()->doorbell_add(host_.context(), &d, &detail::EventTarget::call, target.get(), &handle),
            "doorbell_add");
        return Doorbell(host_, std::move(target), handle);
    }

    uint64_t now_ns() const
    {
        require();
        return host_.api()->clock_ns(host_.context());
    }

    const Host &host() const noexcept { return host_; }

private:
    void require() const
    {
        if (!available())
            throw RuntimeError("the host is older than ABI 1.4: no device runtime", VMM_ERROR_UNSUPPORTED);
    }
    std::unique_ptr<detail::EventTarget> make_target(std::function<void(uint64_t)> fn) const
    {
        auto target = std::make_unique<detail::EventTarget>();
        target->host = host_;
        target->fn = std::move(fn);
        return target;
    }

    Host host_;
    uint32_t irq_count_ = 0;
    bool has_irqchip_ = false;
};

constexpr vmm_irq_decl edge_irq(uint32_t line) noexcept
{
    return vmm_irq_decl{sizeof(vmm_irq_decl), line, VMM_IRQ_EDGE, 0u};
}
constexpr vmm_irq_decl level_irq(uint32_t line, bool shared = false) noexcept
{
    return vmm_irq_decl{sizeof(vmm_irq_decl), line, VMM_IRQ_LEVEL | (shared ? VMM_IRQ_SHARED : 0u), 0u};
}

} // namespace vmm::sdk
