// The host's function table (vmm_host_api) that every device instance
// receives: C trampolines from the ABI into the host's services.
#pragma once

#include <vmm/plugin_abi.h>

namespace vmm {

const vmm_host_api &host_api_table();

} // namespace vmm
