// Names of KVM exit reasons, for logs, reports and profiles.
#pragma once

#include <cstdint>
#include <string>

namespace vmm {

// "IO", "MMIO", "HLT", ... or "UNKNOWN(n)".
std::string exit_reason_name(uint32_t reason);
// The same without allocating (for the exit path): "UNKNOWN" for any
// reason not in the table.
const char *exit_reason_label(uint32_t reason);

} // namespace vmm
