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

#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace vmm {

class VcpuGroup {
public:
    VcpuGroup(std::vector<std::unique_ptr<Vcpu>> &vcpus, std::vector<std::unique_ptr<VcpuRuntime>> &runtimes,
              IoRouter &io, RunControl &control, const ExitObservers &observers, bool sync_registers);
    ~VcpuGroup();
    VcpuGroup(const VcpuGroup &) = delete;
    VcpuGroup &operator=(const VcpuGroup &) = delete;

    // Starts every thread, waits for all to end; returns their outcomes in
    // vCPU order.
    std::vector<VcpuOutcome> run();

private:
    void thread_main(std::size_t slot);
    void kick_all();

    std::vector<std::unique_ptr<Vcpu>> &vcpus_;
    std::vector<std::unique_ptr<VcpuRuntime>> &runtimes_;
    IoRouter &io_;
    RunControl &control_;
    const ExitObservers &observers_;
    bool sync_registers_;

    std::mutex mutex_; // guards active_, running_ and the kick
    std::vector<bool> active_;
    std::size_t running_ = 0;
    std::vector<std::thread> threads_;
    std::vector<VcpuOutcome> outcomes_;
};

} // namespace vmm
