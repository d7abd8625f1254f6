// Why and with what status the VM stops. The first request wins; later
// ones (a second device, a vCPU halting during shutdown) are ignored.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>

namespace vmm {

enum class StopCause {
    none,
    all_halted,    // every vCPU executed HLT (no irqchip)
    guest_request, // a device asked (debug-exit, a test device)
    fatal,         // a vCPU cannot go on: triple fault, entry failure...
    signal,        // SIGINT / SIGTERM
    timeout,       // --timeout elapsed
    control,       // a stop request on the control socket
    plugin_crashed, // an isolated device's process died (on_crash = "stop")
};
const char *stop_cause_name(StopCause cause);

class RunControl {
public:
    // Called once, on the first stop request, to get vCPUs out of KVM_RUN.
    void set_kick(std::function<void()> kick);

    // Returns true if this request was the one that counted.
    bool request_stop(StopCause cause, int exit_status, std::string reason);
    bool stop_requested() const { return stopping_.load(std::memory_order_acquire); }

    StopCause cause() const;
    int exit_status() const;
    std::string reason() const;

private:
    std::atomic<bool> stopping_{false};
    mutable std::mutex mutex_;
    StopCause cause_ = StopCause::none;
    int exit_status_ = 0;
    std::string reason_;
    std::function<void()> kick_;
};

} // namespace vmm
