#include "kvm/vm.hpp"

#include "support/errors.hpp"

#include <sys/ioctl.h>

#include <cerrno>

namespace vmm {

Vm::Vm(const KvmSystem &kvm) : kvm_(kvm), fd_(::ioctl(kvm.fd(), KVM_CREATE_VM, 0UL))
{
    if (!fd_.valid())
        throw SystemError(errno_message("KVM_CREATE_VM", errno));
    // Both must be set before the first vCPU exists; harmless where unneeded.
    if (::ioctl(fd_.get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(kTssAddress)) < 0)
        throw SystemError(errno_message("KVM_SET_TSS_ADDR", errno));
    uint64_t identity_map = kIdentityMapAddress;
    if (kvm.extension(KVM_CAP_SET_IDENTITY_MAP_ADDR) &&
        ::ioctl(fd_.get(), KVM_SET_IDENTITY_MAP_ADDR, &identity_map) < 0)
        throw SystemError(errno_message("KVM_SET_IDENTITY_MAP_ADDR", errno));
}

void Vm::set_memory_region(uint32_t slot, uint64_t guest_address, uint64_t size, void *host, bool read_only)
{
    if (read_only && !kvm_.extension(KVM_CAP_READONLY_MEM))
        throw SystemError("this KVM cannot map read-only memory (KVM_CAP_READONLY_MEM), needed for ROM images");
    kvm_userspace_memory_region region{};
    region.slot = slot;
    region.flags = read_only ? KVM_MEM_READONLY : 0;
    region.guest_phys_addr = guest_address;
    region.memory_size = size;
    region.userspace_addr = reinterpret_cast<uint64_t>(host);
    if (::ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0)
        throw SystemError(errno_message("KVM_SET_USER_MEMORY_REGION", errno));
}

void Vm::create_irqchip()
{
    if (::ioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0) < 0)
        throw SystemError(errno_message("KVM_CREATE_IRQCHIP", errno));
}

} // namespace vmm

namespace vmm {

void Vm::create_pit()
{
    kvm_pit_config config{};
    if (::ioctl(fd_.get(), KVM_CREATE_PIT2, &config) < 0)
        throw SystemError(errno_message("KVM_CREATE_PIT2", errno));
}

} // namespace vmm
