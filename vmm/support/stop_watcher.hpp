// Turns SIGINT, SIGTERM and a wall-clock limit into a clean stop.
//
// block_stop_signals() must run in main() before any thread exists, so
// that every thread inherits the mask and the signals wait in a signalfd
// instead of interrupting whatever thread the kernel picks. The watcher's
// thread reads that signalfd (and a timerfd for --timeout) and calls the
// handler, which asks the VM to stop: vCPUs are kicked out of KVM_RUN and
// joined, devices destroyed in reverse order, reports written. A signal
// that arrives more than kGracePeriod after the stop began ends the process
// at once; one within it is the same request delivered twice (GNU timeout
// signals the child and then its process group) and is ignored.
//
// The watcher must outlive the machine, so that a device whose destroy
// never returns can still be interrupted: see StopRouter.
#pragma once

#include "support/unique_fd.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <thread>

namespace vmm {

void block_stop_signals();
// For commands without a VM (`vmm plugins`): SIGINT and SIGTERM end the
// process at once, as they would any program. Call before any thread.
void unblock_stop_signals();

inline constexpr std::chrono::milliseconds kGracePeriod{1000};

class StopWatcher {
public:
    enum class Reason { sigint, sigterm, timeout };
    using Handler = std::function<void(Reason)>;
    // Runs on the watcher's thread just before a forced exit (128 + signo),
    // e.g. to leave a minimal report. It must not block.
    using BeforeExit = std::function<void(int signo)>;

    StopWatcher(Handler handler, std::optional<std::chrono::milliseconds> timeout, BeforeExit before_exit = {});
    ~StopWatcher();
    StopWatcher(const StopWatcher &) = delete;
    StopWatcher &operator=(const StopWatcher &) = delete;

private:
    void watch();

    Handler handler_;
    BeforeExit before_exit_;
    UniqueFd signals_;
    UniqueFd timer_;
    UniqueFd wake_;
    std::thread thread_;
};

} // namespace vmm
