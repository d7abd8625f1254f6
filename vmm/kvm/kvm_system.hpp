// /dev/kvm: the KVM subsystem itself (API version, capabilities, CPUID).
#pragma once

#include "support/unique_fd.hpp"

#include <linux/kvm.h>

#include <cstddef>
#include <vector>

namespace vmm {

inline constexpr const char *kKvmDevice = "/dev/kvm";

class KvmSystem {
public:
    // Opens /dev/kvm and checks the stable API; throws SystemError.
    KvmSystem();

    // False only when /dev/kvm does not exist (tests skip then, never pass).
    static bool device_present();

    int fd() const { return fd_.get(); }
    std::size_t vcpu_mmap_size() const { return vcpu_mmap_size_; }
    // KVM_CHECK_EXTENSION: 0 when unsupported, else a capability value.
    int extension(long capability) const;
    // KVM_GET_SUPPORTED_CPUID: what KVM can show a guest on this host.
    std::vector<kvm_cpuid_entry2> supported_cpuid() const;

private:
    UniqueFd fd_;
    std::size_t vcpu_mmap_size_ = 0;
};

} // namespace vmm
