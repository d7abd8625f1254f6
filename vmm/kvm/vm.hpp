// A KVM virtual machine: its file descriptor and VM-wide settings.
#pragma once

#include "kvm/kvm_system.hpp"
#include "support/unique_fd.hpp"

#include <cstdint>

namespace vmm {

// Where KVM's real-mode helpers live on Intel (3 pages of TSS and one of
// identity-mapped page table). Kept out of every guest region.
inline constexpr uint64_t kIdentityMapAddress = 0xfffbc000;
inline constexpr uint64_t kTssAddress = 0xfffbd000;
inline constexpr uint64_t kReservedHelperBase = kIdentityMapAddress;
inline constexpr uint64_t kReservedHelperSize = 0x4000;

class Vm {
public:
    explicit Vm(const KvmSystem &kvm);

    int fd() const { return fd_.get(); }
    const KvmSystem &kvm() const { return kvm_; }

    void set_memory_region(uint32_t slot, uint64_t guest_address, uint64_t size, void *host, bool read_only);
    // KVM_CREATE_IRQCHIP: in-kernel LAPIC, IOAPIC and PIC.
    void create_irqchip();
    // KVM_CREATE_PIT2: an i8254 on ports 0x40-0x43 (and the speaker port
    // 0x61) interrupting on line 0. Needs the irqchip first.
    void create_pit();

private:
    const KvmSystem &kvm_;
    UniqueFd fd_;
};

} // namespace vmm
