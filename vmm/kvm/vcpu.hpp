// One KVM vCPU: its file descriptor, its shared kvm_run page and its registers.
#pragma once

#include "kvm/vm.hpp"
#include "support/unique_fd.hpp"

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vmm {

class Vcpu {
public:
    Vcpu(Vm &vm, uint32_t index);
    ~Vcpu();
    Vcpu(const Vcpu &) = delete;
    Vcpu &operator=(const Vcpu &) = delete;

    uint32_t index() const { return index_; }
    int fd() const { return fd_.get(); }
    kvm_run *run_page() const { return run_; }
    std::size_t run_page_size() const { return run_size_; }

    // One KVM_RUN. Returns 0, or the errno (EINTR after a kick, EAGAIN while
    // an application processor waits for SIPI).
    int run();

    kvm_regs regs() const;
    void set_regs(const kvm_regs &regs);
    kvm_sregs sregs() const;
    void set_sregs(const kvm_sregs &sregs);
    void set_cpuid(const std::vector<kvm_cpuid_entry2> &entries);
    // The local APIC's LINT0 as ExtINT and LINT1 as NMI, as firmware leaves
    // them on the boot CPU, so that the PIC's interrupts reach a guest that
    // never programs its local APIC (Intel MP spec, virtual wire mode).
    void set_virtual_wire_lints();
    // KVM_SET_MP_STATE: KVM_MP_STATE_RUNNABLE, _INIT_RECEIVED (waits for SIPI), ...
    void set_mp_state(uint32_t state);

private:
    uint32_t index_;
    UniqueFd fd_;
    kvm_run *run_ = nullptr;
    std::size_t run_size_ = 0;
};

} // namespace vmm
