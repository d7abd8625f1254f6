// All-stop run control for a debugger: when one vCPU stops (a breakpoint, a
// single step, a watched write, an exit the debugger asked to break on, or
// Ctrl-C), every vCPU stops at an exit boundary and parks until the
// debugger resumes it. Also the vCPU loop's DebugHook: the loop calls in
// only when a debugger is configured (the hook pointer is null otherwise).
//
// Nothing here waits for the debugger without looking at the VM's stop
// flag: a parked vCPU checks it every 50 ms, so a signal, --timeout or a
// control-socket stop ends a VM whose debugger has gone quiet.
#pragma once

#include "core/run_control.hpp"
#include "core/vcpu_loop.hpp"
#include "debug/debug_registers.hpp"
#include "kvm/guest_memory.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace vmm::gdb {

struct StopEvent {
    enum class Kind {
        initial,     // --gdb-wait: before the first instruction
        interrupt,   // Ctrl-C, or a debugger attaching
        step,        // a single step ended
        breakpoint,  // a debug-register slot of type software or hardware
        watchpoint,  // a debug-register slot of a watchpoint type
        exit_break,  // `monitor break exit ...` matched
    } kind = Kind::interrupt;
    uint32_t vcpu = 0;
    std::size_t slot = 0;      // breakpoint, watchpoint
    std::string detail;        // exit_break: what the exit was
};

// Which exits stop the VM (`monitor break exit ...`).
struct ExitBreaks {
    std::optional<uint16_t> io_port;
    std::optional<uint64_t> mmio_address;
    bool hlt = false;
    bool any() const { return io_port || mmio_address || hlt; }
};

enum class VcpuAction { stay, cont, step };

// A watched variable's bytes where the guest keeps them, and their value
// when the VM last resumed (see AllStop::set_watched).
struct WatchedBytes {
    std::size_t slot = 0;
    uint64_t physical = 0;
    uint64_t length = 0;
    uint64_t value = 0;
};

class AllStop final : public DebugHook {
public:
    // `wait`: start stopped, before the first instruction (--gdb-wait).
    AllStop(uint32_t vcpus, RunControl &control, const GuestMemory &memory, bool wait);

    // Set while the vCPU group runs: gets vCPUs out of KVM_RUN.
    void set_kick(std::function<void()> kick);
    // Called whenever the VM becomes fully stopped or every vCPU ended (the
    // server's wake-up); may be called with the lock held.
    void set_notify(std::function<void()> notify);

    // --- DebugHook (vCPU threads) ---
    bool stop_pending() const override { return stop_pending_.load(std::memory_order_acquire); }
    void park(Vcpu &vcpu, kvm_run &run) override;
    bool after_exit(Vcpu &vcpu, kvm_run &run) override;
    void vcpu_ended(uint32_t index) override;

    // --- the debugger's side (the server thread) ---
    // Asks every vCPU to stop (Ctrl-C, attach) and waits until all have, the
    // VM ended, or `limit` passed. True when the VM is stopped.
    bool stop_all(std::chrono::milliseconds limit);
    // True when every vCPU still running is parked and an event is to report.
    bool stopped() const;
    bool all_ended() const;
    std::optional<StopEvent> event() const;
    // Resumes: each vCPU gets its action. Debug registers and single-step
    // are applied by each vCPU as it leaves its park.
    void resume(const std::vector<VcpuAction> &actions);

    // Debug registers for every vCPU; changed only while stopped.
    DebugRegisters &points() { return points_; }
    // Write and access watchpoints, also checked by single-stepping: on this
    // host guest code at CPL 0 runs in KVM's instruction emulator, which
    // does not check data breakpoints in the debug registers. While any is
    // set, continued vCPUs step one instruction at a time and compare the
    // watched bytes after each (docs/gdb-stub.md).
    void set_watched(std::vector<WatchedBytes> watched);
    void set_exit_breaks(const ExitBreaks &breaks);
    ExitBreaks exit_breaks() const;

    bool ended(uint32_t vcpu) const;
    uint32_t vcpu_count() const { return static_cast<uint32_t>(vcpus_.size()); }
    // Exits by reason, counted since the VM started (slot 63: the rest).
    std::vector<uint64_t> exit_counts(uint32_t vcpu) const;

private:
    struct PerVcpu {
        bool parked = false;
        bool ended = false;
        VcpuAction action = VcpuAction::cont;
        bool stepping = false;
        uint64_t generation = 0; // the resume it last left its park for
    };
    void report_locked(StopEvent event);
    void notify_if_settled_locked();
    bool settled_locked() const;
    void apply_guest_debug(Vcpu &vcpu, bool step);

    RunControl &control_;
    const GuestMemory &memory_;
    std::vector<WatchedBytes> watched_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::atomic<bool> stop_pending_{false};
    std::atomic<bool> breaks_armed_{false};
    std::vector<PerVcpu> vcpus_;
    std::optional<StopEvent> event_;
    uint64_t generation_ = 0;
    DebugRegisters points_;
    ExitBreaks breaks_;
    std::function<void()> kick_;
    std::function<void()> notify_;
    std::vector<std::vector<std::atomic<uint64_t>>> counts_;
};

} // namespace vmm::gdb
