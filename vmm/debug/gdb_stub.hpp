// The GDB remote stub: one thread that accepts one debugger at a time on
// the listener, frames its packets, hands them to a Session and sends the
// replies, and sends a stop reply when the VM stops for it.
//
// It never holds up the VM: every read and write on the debugger's socket
// is non-blocking, a write that cannot finish within a second drops the
// debugger, a debugger that disconnects (even mid-packet) is detached (its
// breakpoints removed, the vCPUs resumed), and a second debugger trying to
// attach is told so and closed.
#pragma once

#include "core/machine.hpp"
#include "debug/all_stop.hpp"
#include "support/unique_fd.hpp"

#include <atomic>
#include <optional>
#include <string>
#include <thread>

namespace vmm::gdb {

class GdbStub final : public Debugger {
public:
    // `wait`: the vCPUs do not run until a debugger continues them.
    GdbStub(UniqueFd listener, std::string address, Machine &machine, bool wait);
    ~GdbStub() override;
    GdbStub(const GdbStub &) = delete;
    GdbStub &operator=(const GdbStub &) = delete;

    DebugHook &hook() override { return stop_; }
    void set_kick(std::function<void()> kick) override { stop_.set_kick(std::move(kick)); }

    // The VM has ended with `status`: a debugger waiting for it gets `W`.
    void finish(int status);

private:
    class Connection;
    void serve();
    void wake();

    Machine &machine_;
    AllStop stop_;
    UniqueFd listener_;
    UniqueFd wake_; // eventfd: the VM settled, or finish()/the destructor
    std::string address_;
    std::atomic<bool> quit_{false};
    std::atomic<int> final_status_{-1};
    std::thread thread_;
};

} // namespace vmm::gdb
