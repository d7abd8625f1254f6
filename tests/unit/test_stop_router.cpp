// The stop watcher outlives the machine: a request before the machine
// exists waits for it, one after the machine is gone is dropped.
#include "core/stop_router.hpp"

#include <catch2/catch.hpp>

using namespace vmm;

TEST_CASE("stop router: a request before the machine exists is delivered when it attaches", "[unit][signals]")
{
    StopRouter router;
    router.deliver(StopWatcher::Reason::sigterm);
    RunControl control;
    CHECK_FALSE(control.stop_requested());
    {
        const StopRouter::Attachment attached(router, control);
        CHECK(control.stop_requested());
        CHECK(control.cause() == StopCause::signal);
        CHECK(control.exit_status() == 143);
    }
}

TEST_CASE("stop router: delivered at once while attached; dropped after detach", "[unit][signals]")
{
    StopRouter router;
    RunControl control;
    {
        const StopRouter::Attachment attached(router, control);
        router.deliver(StopWatcher::Reason::timeout);
        CHECK(control.cause() == StopCause::timeout);
        CHECK(control.exit_status() == 124);
    }
    router.deliver(StopWatcher::Reason::sigint); // the machine is gone: nothing to reach, nothing kept
    RunControl later;
    const StopRouter::Attachment again(router, later);
    CHECK_FALSE(later.stop_requested());
}
