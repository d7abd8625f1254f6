// The vCPU threads of a VM: one per vCPU, started together, kicked out of
// KVM_RUN when the VM must stop, joined, and their outcomes collected.
// vCPU 0 runs on the thread that calls run(), which would otherwise only
// wait: a thread fewer to start, and no hand-over to and from another
// thread at the start and end of every run (docs/startup.md).
//
// A kick sets kvm_run.immediate_exit and sends SIGUSR1 to the thread: the
// flag covers a thread about to enter KVM_RUN, the signal one inside it.
#pragma once

#include "core/io_router.hpp"
#include "core/run_control.hpp"
#include "core/vcpu_loop.hpp"
#include "kvm/vcpu.hpp"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace vmm {

class VcpuGroup final : public PausePoint {
public:
    VcpuGroup(std::vector<std::unique_ptr<Vcpu>> &vcpus, std::vector<std::unique_ptr<VcpuRuntime>> &runtimes,
              IoRouter &io, RunControl &control, const ExitObservers &observers, bool sync_registers,
              const UserModeTraps *user_mode = nullptr, SleepPoint *sleep_point = nullptr,
              DebugHook *debug = nullptr);
    ~VcpuGroup();
    VcpuGroup(const VcpuGroup &) = delete;
    VcpuGroup &operator=(const VcpuGroup &) = delete;

    // Runs vCPU 0 on the calling thread and starts a thread for each other
    // one; returns when all have ended, with their outcomes in vCPU order.
    std::vector<VcpuOutcome> run();

    // Stops every running vCPU between two exits (devices are then not
    // called by any vCPU). False if they did not all stop within `timeout`,
    // or the VM is stopping; then nothing is paused.
    bool pause(std::chrono::milliseconds timeout);
    void resume();
    // Gets every running vCPU out of KVM_RUN once (a debugger's stop).
    void kick() { kick_all(); }

    // Gets every running vCPU out of KVM_RUN to look at its flags (a
    // suspend); any thread.
    void kick_all();

    bool pause_pending() const override { return pause_pending_.load(std::memory_order_relaxed); }
    void checkpoint(kvm_run &run) override;
    void clear_kick(kvm_run &run) override;
    void request_immediate_exit(kvm_run &run) override;

private:
    void thread_main(std::size_t slot);
    void kick_locked(); // mutex_ held

    std::vector<std::unique_ptr<Vcpu>> &vcpus_;
    std::vector<std::unique_ptr<VcpuRuntime>> &runtimes_;
    IoRouter &io_;
    RunControl &control_;
    const ExitObservers &observers_;
    bool sync_registers_;
    const UserModeTraps *user_mode_;
    SleepPoint *sleep_point_;
    DebugHook *debug_;

    std::mutex mutex_; // guards active_, running_, the pause state and the kick
    std::condition_variable changed_;
    std::vector<bool> active_;
    std::size_t running_ = 0;
    bool pause_requested_ = false;
    std::size_t paused_ = 0;
    std::atomic<bool> pause_pending_{false};
    std::vector<pthread_t> kick_targets_; // per vCPU: the thread it runs on
    std::vector<std::thread> threads_;    // vCPUs 1 and up
    std::vector<VcpuOutcome> outcomes_;
};

} // namespace vmm
