// ACPI S3 (suspend to RAM) in the core. A device (acpi-pm) suspends the
// VM; every vCPU stops at its next exit boundary and sleeps here until a
// wake event (a control-socket `wake`, an interrupt line a device raises).
// Each vCPU then puts itself into its wake state on its own thread: the
// boot vCPU in real mode at the FACS firmware waking vector, the others
// waiting for INIT/SIPI, as after a real S3 resume.
#pragma once

#include "core/run_control.hpp"
#include "core/vcpu_loop.hpp"
#include "kvm/vcpu.hpp"

#include <linux/kvm.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace vmm {

class SleepControl final : public SleepPoint {
public:
    // `waking_vector` reads the FACS's firmware waking vector from guest
    // RAM (at wake time: the guest writes it before it sleeps);
    // `boot_reset` is the boot vCPU's state as KVM created it (reset).
    SleepControl(uint32_t vcpus, std::function<uint32_t()> waking_vector, const kvm_sregs &boot_reset);

    // The vCPUs to kick out of KVM_RUN when the VM suspends (none: not running).
    void set_kick(std::function<void()> kick);

    // True if the VM was awake and now suspends.
    bool suspend();
    // True if the VM was suspended and now wakes.
    bool wake();
    bool suspended() const { return suspended_.load(std::memory_order_acquire); }
    // How many times the VM woke (for tests and the status request).
    uint64_t wakes() const { return wakes_.load(); }

    bool sleep_pending(uint32_t vcpu) const override;
    void sleep(Vcpu &vcpu, kvm_run &run, PausePoint *pause, const RunControl &control) override;

private:
    void wake_state(Vcpu &vcpu);

    std::function<uint32_t()> waking_vector_;
    kvm_sregs boot_reset_;
    std::atomic<bool> suspended_{false};
    std::atomic<uint64_t> epoch_{0}; // suspensions so far
    std::atomic<uint64_t> wakes_{0};
    std::vector<std::atomic<uint64_t>> seen_; // per vCPU: the last epoch it slept through
    std::mutex mutex_;
    std::condition_variable changed_;
    std::function<void()> kick_;
};

} // namespace vmm
