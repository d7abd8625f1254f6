#include "kvm/vcpu.hpp"

#include "kvm/cpuid_ioctl.hpp"
#include "support/errors.hpp"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
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
    std::vector<uint8_t> buffer(sizeof(kvm_abi::CpuidHeader) + entries.size() * sizeof(kvm_cpuid_entry2));
    const kvm_abi::CpuidHeader header{static_cast<uint32_t>(entries.size()), 0};
    std::memcpy(buffer.data(), &header, sizeof header);
    if (!entries.empty())
        std::memcpy(buffer.data() + sizeof header, entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
    if (::ioctl(fd_.get(), kvm_abi::kSetCpuid2, buffer.data()) < 0)
        throw SystemError(errno_message("KVM_SET_CPUID2", errno));
}

} // namespace vmm

namespace vmm {

void Vcpu::set_virtual_wire_lints()
{
    constexpr std::size_t kLvtLint0 = 0x350;
    constexpr std::size_t kLvtLint1 = 0x360;
    constexpr uint32_t kDeliveryExtInt = 0x7u << 8;
    constexpr uint32_t kDeliveryNmi = 0x4u << 8;
    kvm_lapic_state lapic{};
    if (::ioctl(fd_.get(), KVM_GET_LAPIC, &lapic) < 0)
        throw SystemError(errno_message("KVM_GET_LAPIC", errno));
    const auto set = [&](std::size_t offset, uint32_t value) { std::memcpy(&lapic.regs[offset], &value, 4); };
    set(kLvtLint0, kDeliveryExtInt); // unmasked, edge
    set(kLvtLint1, kDeliveryNmi);
    if (::ioctl(fd_.get(), KVM_SET_LAPIC, &lapic) < 0)
        throw SystemError(errno_message("KVM_SET_LAPIC", errno));
}

void Vcpu::set_mp_state(uint32_t state)
{
    kvm_mp_state mp{state};
    if (::ioctl(fd_.get(), KVM_SET_MP_STATE, &mp) < 0)
        throw SystemError(errno_message("KVM_SET_MP_STATE", errno));
}

} // namespace vmm
