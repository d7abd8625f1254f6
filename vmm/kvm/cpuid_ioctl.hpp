// KVM_GET_SUPPORTED_CPUID and KVM_SET_CPUID2 with the C layout.
//
// Why: <linux/kvm.h> declares `struct kvm_cpuid2` with __DECLARE_FLEX_ARRAY,
// whose empty struct is 1 byte in C++ (0 in C). Compiled as C++ the struct
// is 12 bytes, its entries start at offset 12 instead of 8, and the ioctl
// numbers derived from its size are ones the kernel does not know (EINVAL).
// So the VMM sends its own header, laid out as the kernel expects.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>

namespace vmm::kvm_abi {

struct CpuidHeader {
    uint32_t nent;
    uint32_t padding;
    // followed by `nent` struct kvm_cpuid_entry2
};
static_assert(sizeof(CpuidHeader) == 8, "the kernel's struct kvm_cpuid2 header is 8 bytes");
static_assert(sizeof(kvm_cpuid_entry2) == 40, "struct kvm_cpuid_entry2 is 40 bytes");

inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);

} // namespace vmm::kvm_abi
