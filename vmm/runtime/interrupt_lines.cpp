#include "runtime/interrupt_lines.hpp"

#include "kvm/vm.hpp"
#include "support/errors.hpp"

#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

namespace vmm {

InterruptLines::InterruptLines(Vm &vm) : vm_(vm) {}

InterruptLines::~InterruptLines()
{
    for (auto &[gsi, fd] : irqfds_) {
        kvm_irqfd irqfd{};
        irqfd.fd = static_cast<uint32_t>(fd.get());
        irqfd.gsi = gsi;
        irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
        ::ioctl(vm_.fd(), KVM_IRQFD, &irqfd); // the VM may be closing: nothing to report
    }
}

void InterruptLines::connect(uint32_t gsi)
{
    std::lock_guard lock(mutex_);
    if (gsi >= kIoapicLines || irqfds_.count(gsi) != 0)
        return;
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd.valid())
        throw SystemError(errno_message("eventfd", errno));
    kvm_irqfd irqfd{};
    irqfd.fd = static_cast<uint32_t>(fd.get());
    irqfd.gsi = gsi;
    if (::ioctl(vm_.fd(), KVM_IRQFD, &irqfd) < 0)
        throw SystemError(errno_message("KVM_IRQFD (line " + std::to_string(gsi) + ")", errno));
    irqfds_.emplace(gsi, std::move(fd));
}

vmm_status InterruptLines::drive(uint32_t gsi, bool level)
{
    kvm_irq_level irq{};
    irq.irq = gsi;
    irq.level = level ? 1 : 0;
    return ::ioctl(vm_.fd(), KVM_IRQ_LINE, &irq) < 0 ? VMM_ERROR : VMM_OK;
}

vmm_status InterruptLines::set_level(uint32_t gsi, const void *source, bool level)
{
    vmm_status status = VMM_OK;
    bool rose = false;
    {
        std::lock_guard lock(mutex_);
        if (gsi >= kIoapicLines)
            return VMM_ERROR_RANGE;
        std::set<const void *> &holders = asserted_[gsi];
        const bool was = !holders.empty();
        if (level)
            holders.insert(source);
        else
            holders.erase(source);
        const bool now = !holders.empty();
        if (was != now)
            status = drive(gsi, now);
        rose = !was && now;
    }
    if (rose && raise_observer_)
        raise_observer_(gsi);
    return status;
}

vmm_status InterruptLines::pulse(uint32_t gsi)
{
    const int fd = eventfd(gsi);
    if (fd < 0)
        return VMM_ERROR_RANGE;
    {
        // KVM's irqfd drives the line as the same source as KVM_IRQ_LINE:
        // its 1-then-0 would lower a line a device holds high. A line
        // already high shows no edge anyway.
        std::lock_guard lock(mutex_);
        const auto held = asserted_.find(gsi);
        if (held != asserted_.end() && !held->second.empty())
            return VMM_OK;
    }
    if (raise_observer_)
        raise_observer_(gsi);
    const uint64_t one = 1;
    // A full eventfd counter (2^64 - 2 pending pulses) cannot happen: KVM
    // consumes each write as it comes.
    return ::write(fd, &one, sizeof one) == sizeof one ? VMM_OK : VMM_ERROR;
}

vmm_status InterruptLines::send_msi(uint64_t address, uint32_t data)
{
    // The local APICs' message window (Intel SDM vol. 3, 11.11.1).
    if ((address & ~0xfffffull) != 0xfee00000ull)
        return VMM_ERROR_RANGE;
    kvm_msi msi{};
    msi.address_lo = static_cast<uint32_t>(address);
    msi.address_hi = static_cast<uint32_t>(address >> 32);
    msi.data = data;
    // > 0 delivered, 0 blocked by the guest (masked, no such APIC): both are
    // the guest's business, as on hardware.
    return ::ioctl(vm_.fd(), KVM_SIGNAL_MSI, &msi) < 0 ? VMM_ERROR : VMM_OK;
}

int InterruptLines::eventfd(uint32_t gsi) const
{
    std::lock_guard lock(mutex_);
    const auto it = irqfds_.find(gsi);
    return it == irqfds_.end() ? -1 : it->second.get();
}

void InterruptLines::drop_source(const void *source)
{
    std::lock_guard lock(mutex_);
    for (auto &[gsi, holders] : asserted_) {
        if (holders.erase(source) != 0 && holders.empty())
            drive(gsi, false);
    }
}

} // namespace vmm
