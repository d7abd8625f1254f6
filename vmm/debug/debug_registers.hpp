// The four x86 debug-register slots, shared by every kind of breakpoint the
// stub sets: Z0 (software breakpoints: KVM_GUESTDBG_USE_SW_BP does not work
// on this host, see docs/gdb-stub.md), Z1 (hardware breakpoints) and Z2-Z4
// (write, read and access watchpoints). A fifth is refused, never dropped.
//
// The same slots go to every vCPU (KVM_SET_GUEST_DEBUG with
// KVM_GUESTDBG_USE_HW_BP); the guest's own debug registers are not touched.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace vmm::gdb {

enum class PointType { software = 0, hardware = 1, write = 2, read = 3, access = 4 };

struct DebugSlot {
    bool used = false;
    PointType type = PointType::software;
    uint64_t address = 0;
    uint64_t length = 1; // watchpoints: 1, 2, 4 or 8
};

class DebugRegisters {
public:
    static constexpr std::size_t kSlots = 4;

    // Returns an error text when the point cannot be set: no free slot, or
    // a watchpoint that is not 1, 2, 4 or 8 bytes aligned to its size.
    // Setting the same point twice is one slot (gdb may re-insert).
    std::optional<std::string> insert(PointType type, uint64_t address, uint64_t length);
    // False if there was no such point.
    bool remove(PointType type, uint64_t address, uint64_t length);
    void clear() { slots_ = {}; }
    bool empty() const;

    // DR7 for these slots (local enables, R/W and LEN fields, GE).
    uint64_t dr7() const;
    std::array<uint64_t, kSlots> addresses() const;
    const DebugSlot &slot(std::size_t i) const { return slots_[i]; }

    // The slot that DR6 (as KVM reports it in kvm_debug_exit_arch) says
    // triggered, if any.
    std::optional<std::size_t> triggered(uint64_t dr6) const;

private:
    std::array<DebugSlot, kSlots> slots_{};
};

} // namespace vmm::gdb
