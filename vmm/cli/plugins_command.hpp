// `vmm plugins`: every plugin on the search path, described by its own
// descriptor, without creating a VM.
#pragma once

#include "cli/options.hpp"

namespace vmm {

int list_plugins(const Options &options);

} // namespace vmm
