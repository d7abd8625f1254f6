// vmm/sdk.hpp - everything a C++ device plugin includes.
//
// A header-only layer over <vmm/plugin_abi.h>: derive from vmm::sdk::Device,
// describe the plugin with a static `plugin_info()`, and export it with
// VMM_PLUGIN(YourDevice). Exceptions thrown by your code never cross the .so
// boundary: the exported entry points turn them into error codes and log them.
#pragma once

#include <vmm/plugin_abi.h>
#include <vmm/sdk/bytes.hpp>
#include <vmm/sdk/device.hpp>
#include <vmm/sdk/host.hpp>
#include <vmm/sdk/output.hpp>
#include <vmm/sdk/plugin.hpp>
#include <vmm/sdk/runtime.hpp>
#include <vmm/sdk/settings.hpp>
#include <vmm/sdk/state.hpp>
