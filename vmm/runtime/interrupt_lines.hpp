// The machine's interrupt lines (GSIs) and message-signalled interrupts,
// as devices drive them through the in-kernel irqchip.
//
// A pulse is a write to the line's irqfd eventfd: KVM raises and lowers the
// line in the kernel, and the same descriptor could be handed to a device
// in another process. A level is held with KVM_IRQ_LINE, because a level
// irqfd is lowered by KVM at the guest's EOI (resample), not when the
// device says so. A line shared by several devices is the OR of their
// levels: KVM sees one source (us), so the OR is kept here.
#pragma once

#include "support/unique_fd.hpp"

#include <vmm/plugin_abi.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>

namespace vmm {

class Vm;

inline constexpr uint32_t kIoapicLines = 24;

class InterruptLines {
public:
    // `vm` has an irqchip; it must outlive this object.
    explicit InterruptLines(Vm &vm);
    ~InterruptLines();
    InterruptLines(const InterruptLines &) = delete;
    InterruptLines &operator=(const InterruptLines &) = delete;

    // Creates the line's irqfd (once). Throws SystemError when KVM refuses.
    void connect(uint32_t gsi);

    // `source` names the device asserting (any stable pointer).
    vmm_status set_level(uint32_t gsi, const void *source, bool level);
    vmm_status pulse(uint32_t gsi);
    vmm_status send_msi(uint64_t address, uint32_t data);
    // The irqfd behind a connected line, or -1.
    int eventfd(uint32_t gsi) const;
    // Lowers every line `source` holds (the device went away).
    void drop_source(const void *source);
    // Called (outside the lock, on the device's thread) whenever a line
    // rises or is pulsed: an ACPI S3 wake event. Set before devices run.
    void set_raise_observer(std::function<void(uint32_t gsi)> observer) { raise_observer_ = std::move(observer); }

private:
    vmm_status drive(uint32_t gsi, bool level);

    Vm &vm_;
    std::map<uint32_t, UniqueFd> irqfds_;
    mutable std::mutex mutex_;
    std::map<uint32_t, std::set<const void *>> asserted_;
    std::function<void(uint32_t)> raise_observer_;
};

} // namespace vmm
