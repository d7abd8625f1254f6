// The vCPU threads of a VM: one per vCPU, started together, kicked out of
// KVM_RUN when the VM must stop, joined, and their outcomes collected.
//
// A kick sets kvm_run.immediate_exit and sends SIGUSR1 to the thread: the
// flag covers a thread about to enter KVM_RUN, the signal one inside it.
#pragma once

#include "core/io_router.hpp"
#include "core/run_control.hpp"
#include "core/vcpu_loop.hpp"
#include "kvm/vcpu.hpp"

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
              const UserModeTraps *user_mode = nullptr);
    ~VcpuGroup();
    VcpuGroup(const VcpuGroup &) = delete;
    VcpuGroup &operator=(const VcpuGroup &) = delete;

    // Starts every thread, waits for all to end; returns their outcomes in
    // vCPU order.
    std::vector<VcpuOutcome> run();

    // Stops every running vCPU between two exits (devices are then not
    // called by any vCPU). False if they did not all stop within `timeout`,
    // or the VM is stopping; then nothing is paused.
    bool pause(std::chrono::milliseconds timeout);
    void resume();

    bool pause_pending() const override { return pause_pending_.load(std::memory_order_relaxed); }
    void checkpoint(kvm_run &run) override;
    void clear_kick(kvm_run &run) override;

private:
    void thread_main(std::size_t slot);
    void kick_all();
    void kick_locked(); // mutex_ held

    std::vector<std::unique_ptr<Vcpu>> &vcpus_;
    std::vector<std::unique_ptr<VcpuRuntime>> &runtimes_;
    IoRouter &io_;
    RunControl &control_;
    const ExitObservers &observers_;
    bool sync_registers_;
    const UserModeTraps *user_mode_;

    std::mutex mutex_; // guards active_, running_, the pause state and the kick
    std::condition_variable changed_;
    std::vector<bool> active_;
    std::size_t running_ = 0;
    bool pause_requested_ = false;
    std::size_t paused_ = 0;
    std::atomic<bool> pause_pending_{false};
    std::vector<std::thread> threads_;
    std::vector<VcpuOutcome> outcomes_;
};

} // namespace vmm
