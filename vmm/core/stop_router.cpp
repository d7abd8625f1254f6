#include "core/stop_router.hpp"

#include "support/errors.hpp"
#include "support/logging.hpp"

namespace vmm {
namespace {

void request(RunControl &control, StopWatcher::Reason reason)
{
    switch (reason) {
    case StopWatcher::Reason::sigint:
        control.request_stop(StopCause::signal, kExitSigint, "interrupted (SIGINT)");
        break;
    case StopWatcher::Reason::sigterm:
        control.request_stop(StopCause::signal, kExitSigterm, "terminated (SIGTERM)");
        break;
    case StopWatcher::Reason::timeout:
        control.request_stop(StopCause::timeout, kExitTimeout, "the --timeout elapsed");
        break;
    }
}

} // namespace

void StopRouter::deliver(StopWatcher::Reason reason)
{
    const std::lock_guard lock(mutex_);
    if (control_) {
        request(*control_, reason);
    } else if (!detached_ && !pending_) {
        // A device's create may take long (or block for ever): say what
        // happens, and how to get out at once.
        pending_ = reason;
        logging::core().warn("{} while the machine is being built: it stops as soon as it is (a signal a second "
                             "from now exits at once)",
                             reason == StopWatcher::Reason::timeout ? "the --timeout elapsed" : "a stop signal");
    }
}

StopRouter::Attachment::Attachment(StopRouter &router, RunControl &control) : router_(router)
{
    const std::lock_guard lock(router_.mutex_);
    router_.control_ = &control;
    if (router_.pending_)
        request(control, *router_.pending_);
}

StopRouter::Attachment::~Attachment()
{
    const std::lock_guard lock(router_.mutex_);
    router_.control_ = nullptr;
    router_.detached_ = true; // the VM has stopped: later requests have nothing to stop
}

} // namespace vmm
