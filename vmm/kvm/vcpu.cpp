#include "kvm/vcpu.hpp"

#include "support/errors.hpp"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <memory>
#include <string>

namespace vmm {

Vcpu::Vcpu(Vm &vm, uint32_t index)
    : index_(index), fd_(::ioctl(vm.fd(), KVM_CREATE_VCPU, static_cast<unsigned long>(index)))
{
    if (!fd_.valid())
        throw SystemError(errno_message("KVM_CREATE_VCPU " + std::to_string(index), errno));
    run_size_ = vm.kvm().vcpu_mmap_size();
    void *page = ::mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    if (page == MAP_FAILED)
        throw SystemError(errno_message("mmap of kvm_run for vCPU " + std::to_string(index), errno));
    run_ = static_cast<kvm_run *>(page);
}

Vcpu::~Vcpu()
{
    if (run_ != nullptr)
        ::munmap(run_, run_size_);
}

int Vcpu::run()
{
    return ::ioctl(fd_.get(), KVM_RUN, 0) < 0 ? errno : 0;
}

kvm_regs Vcpu::regs() const
{
    kvm_regs regs{};
    if (::ioctl(fd_.get(), KVM_GET_REGS, &regs) < 0)
        throw SystemError(errno_message("KVM_GET_REGS", errno));
    return regs;
}

void Vcpu::set_regs(const kvm_regs &regs)
{
    if (::ioctl(fd_.get(), KVM_SET_REGS, &regs) < 0)
        throw SystemError(errno_message("KVM_SET_REGS", errno));
}

kvm_sregs Vcpu::sregs() const
{
    kvm_sregs sregs{};
    if (::ioctl(fd_.get(), KVM_GET_SREGS, &sregs) < 0)
        throw SystemError(errno_message("KVM_GET_SREGS", errno));
    return sregs;
}

void Vcpu::set_sregs(const kvm_sregs &sregs)
{
    if (::ioctl(fd_.get(), KVM_SET_SREGS, &sregs) < 0)
        throw SystemError(errno_message("KVM_SET_SREGS", errno));
}

void Vcpu::set_cpuid(const std::vector<kvm_cpuid_entry2> &entries)
{
    const std::size_t bytes = sizeof(kvm_cpuid2) + entries.size() * sizeof(kvm_cpuid_entry2);
    auto buffer = std::make_unique<unsigned char[]>(bytes);
    auto *cpuid = new (buffer.get()) kvm_cpuid2{};
    cpuid->nent = static_cast<__u32>(entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i)
        cpuid->entries[i] = entries[i];
    if (::ioctl(fd_.get(), KVM_SET_CPUID2, cpuid) < 0)
        throw SystemError(errno_message("KVM_SET_CPUID2", errno));
}

} // namespace vmm
