// Takes the stop watcher's requests to the machine.
//
// The watcher lives longer than the machine (so that a signal still works
// while devices are created and destroyed), and the machine's RunControl
// goes away with it. The router holds the RunControl only while one is
// attached: a request that comes earlier waits and is delivered on attach
// (the VM then stops at once); one that comes after detach is dropped (the
// VM has stopped already; the watcher still escalates a later signal).
#pragma once

#include "core/run_control.hpp"
#include "support/stop_watcher.hpp"

#include <mutex>
#include <optional>

namespace vmm {

class StopRouter {
public:
    // From the watcher's thread.
    void deliver(StopWatcher::Reason reason);

    // Attaches `control` for the life of the attachment, which must end
    // before `control` does.
    class Attachment {
    public:
        Attachment(StopRouter &router, RunControl &control);
        ~Attachment();
        Attachment(const Attachment &) = delete;
        Attachment &operator=(const Attachment &) = delete;

    private:
        StopRouter &router_;
    };

private:
    std::mutex mutex_;
    RunControl *control_ = nullptr;
    std::optional<StopWatcher::Reason> pending_;
    bool detached_ = false;
};

} // namespace vmm
