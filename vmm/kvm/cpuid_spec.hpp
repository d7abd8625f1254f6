// The CPUID identity a machine file asks for. It lives in the kvm layer,
// which applies it (kvm/cpuid.cpp), so that the config layer above includes
// it and not the other way round.
#pragma once

#include "support/source_location.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vmm {

// One CPUID leaf (and subleaf) to report differently from what KVM supports.
struct CpuidOverride {
    uint32_t leaf = 0;
    std::optional<uint32_t> subleaf; // set: this subleaf only
    std::optional<uint32_t> eax, ebx, ecx, edx;
    SourceLocation where;
};

struct CpuidSpec {
    std::optional<std::string> brand; // leaves 0x80000002-0x80000004
    SourceLocation brand_where;
    std::vector<CpuidOverride> overrides;
    SourceLocation overrides_where; // the `overrides` array
};

} // namespace vmm
