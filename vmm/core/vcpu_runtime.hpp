// What the rest of the VMM may know about a running vCPU: its thread, its
// exit count, its state, and (when a plugin needs it) its registers as of
// its last exit. Written by the vCPU's own thread, read by any.
#pragma once

#include "kvm/vcpu.hpp"

#include <vmm/plugin_abi.h>

#include <linux/kvm.h>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace vmm {

struct VcpuRuntime {
    uint32_t index = 0;
    Vcpu *vcpu = nullptr;
    std::atomic<int64_t> thread_id{0};
    std::atomic<uint64_t> exits{0};
    std::atomic<uint32_t> state{VMM_VCPU_CREATED};

    // Registers as of the last exit; kept only while a plugin asks for them.
    std::mutex saved_mutex;
    kvm_regs saved{};
    bool saved_valid = false;

    void save(const kvm_regs &regs)
    {
        std::lock_guard lock(saved_mutex);
        saved = regs;
        saved_valid = true;
    }
};

// The vCPU whose exit this thread is handling; nullptr on other threads.
VcpuRuntime *current_vcpu_runtime();
void set_current_vcpu_runtime(VcpuRuntime *runtime);

} // namespace vmm
