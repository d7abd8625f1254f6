#include "kvm/kvm_system.hpp"

#include "kvm/cpuid_ioctl.hpp"
#include "support/errors.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace vmm {

KvmSystem::KvmSystem() : fd_(::open(kKvmDevice, O_RDWR | O_CLOEXEC))
{
    if (!fd_.valid())
        throw SystemError(errno_message(std::string("cannot open ") + kKvmDevice, errno));
    const int api = ::ioctl(fd_.get(), KVM_GET_API_VERSION, 0);
    if (api < 0)
        throw SystemError(errno_message("KVM_GET_API_VERSION", errno));
    if (api != KVM_API_VERSION)
        throw SystemError("KVM API version " + std::to_string(api) + ", expected " + std::to_string(KVM_API_VERSION));
    const int size = ::ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < 0)
        throw SystemError(errno_message("KVM_GET_VCPU_MMAP_SIZE", errno));
    if (static_cast<std::size_t>(size) < sizeof(kvm_run))
        throw SystemError("KVM_GET_VCPU_MMAP_SIZE is smaller than struct kvm_run");
    vcpu_mmap_size_ = static_cast<std::size_t>(size);
}

bool KvmSystem::device_present()
{
    struct stat st {};
    return ::stat(kKvmDevice, &st) == 0;
}

int KvmSystem::extension(long capability) const
{
    const int value = ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, capability);
    return value < 0 ? 0 : value;
}

std::vector<kvm_cpuid_entry2> KvmSystem::supported_cpuid() const
{
    // The kernel says E2BIG until the buffer is large enough.
    for (std::size_t capacity = 64; capacity <= 4096; capacity *= 2) {
        std::vector<uint8_t> buffer(sizeof(kvm_abi::CpuidHeader) + capacity * sizeof(kvm_cpuid_entry2));
        kvm_abi::CpuidHeader header{static_cast<uint32_t>(capacity), 0};
        std::memcpy(buffer.data(), &header, sizeof header);
        if (::ioctl(fd_.get(), kvm_abi::kGetSupportedCpuid, buffer.data()) == 0) {
            std::memcpy(&header, buffer.data(), sizeof header);
            std::vector<kvm_cpuid_entry2> entries(std::min<std::size_t>(header.nent, capacity));
            std::memcpy(entries.data(), buffer.data() + sizeof header, entries.size() * sizeof(kvm_cpuid_entry2));
            return entries;
        }
        if (errno != E2BIG)
            throw SystemError(errno_message("KVM_GET_SUPPORTED_CPUID", errno));
    }
    throw SystemError("KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

} // namespace vmm
