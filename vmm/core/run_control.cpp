#include "core/run_control.hpp"

namespace vmm {

const char *stop_cause_name(StopCause cause)
{
    switch (cause) {
    case StopCause::none: return "running";
    case StopCause::all_halted: return "all vCPUs halted";
    case StopCause::guest_request: return "guest request";
    case StopCause::fatal: return "fatal exit";
    case StopCause::signal: return "signal";
    case StopCause::timeout: return "timeout";
    case StopCause::control: return "control request";
    case StopCause::plugin_crashed: return "plugin crashed";
    }
    return "?";
}

void RunControl::set_kick(std::function<void()> kick)
{
    std::lock_guard lock(mutex_);
    kick_ = std::move(kick);
}

bool RunControl::request_stop(StopCause cause, int exit_status, std::string reason)
{
    std::lock_guard lock(mutex_);
    if (cause_ != StopCause::none)
        return false;
    cause_ = cause;
    exit_status_ = exit_status;
    reason_ = std::move(reason);
    stopping_.store(true, std::memory_order_release);
    // Kicked under the lock: set_kick(nullptr), which the vCPU group calls
    // as it is destroyed, then waits for a kick under way to finish. (The
    // kick takes the group's lock; nothing holding that one takes this.)
    if (kick_)
        kick_();
    return true;
}

StopCause RunControl::cause() const
{
    std::lock_guard lock(mutex_);
    return cause_;
}

int RunControl::exit_status() const
{
    std::lock_guard lock(mutex_);
    return exit_status_;
}

std::string RunControl::reason() const
{
    std::lock_guard lock(mutex_);
    return reason_;
}

} // namespace vmm
