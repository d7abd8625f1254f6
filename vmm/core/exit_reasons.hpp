// Names of KVM exit reasons, for logs, reports and profiles.
#pragma once

#include <cstdint>
#include <string>

namespace vmm {

// "IO", "MMIO", "HLT", ... or "UNKNOWN(n)".
std::string exit_reason_name(uint32_t reason);

} // namespace vmm
