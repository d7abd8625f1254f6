// /dev/kvm opened, an empty VM created and KVM_GET_SUPPORTED_CPUID asked,
// on a thread of their own.
//
// None of them depends on the machine file, and they are slow here: the
// CPUID query runs every host CPUID, each a trap to the outer hypervisor
// where KVM is nested (~0.4 ms on kvm_pvm), and a new VM costs KVM ~0.2 ms
// (its debugfs directory, its MMU). vmm starts the probe first thing and
// meets its result when it builds the VM, so that this work overlaps
// reading the machine file and loading the plugins (docs/startup.md). A
// failure is reported where it was before: when the VM is built, after the
// machine file has been checked. The VM is empty until then (no memory, no
// vCPU): nothing the machine file could have changed.
#pragma once

#include "kvm/kvm_system.hpp"
#include "kvm/vm.hpp"

#include <exception>
#include <memory>
#include <thread>
#include <vector>

namespace vmm {

// An open /dev/kvm, an empty VM, and what KVM can show a guest on this host.
struct KvmHost {
    std::unique_ptr<KvmSystem> system;
    std::unique_ptr<Vm> vm; // refers to *system
    std::vector<kvm_cpuid_entry2> supported_cpuid;

    // All three, on the calling thread; throws SystemError.
    static KvmHost open();
};

class KvmHostProbe {
public:
    KvmHostProbe();  // starts the thread (or, if none can start, leaves the work to take())
    ~KvmHostProbe(); // waits for it: KVM's ioctls return in well under a millisecond
    KvmHostProbe(const KvmHostProbe &) = delete;
    KvmHostProbe &operator=(const KvmHostProbe &) = delete;

    // Waits for the thread and returns what it found, or throws the
    // SystemError it met. A second call opens /dev/kvm again.
    KvmHost take();

private:
    KvmHost result_;
    std::exception_ptr error_;
    std::thread thread_;
    bool taken_ = false;
};

} // namespace vmm
