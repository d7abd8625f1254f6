// An isolated device's plugin, as DeviceInstance sees it: the real plugin's
// name, settings, ranges and lines, with functions that forward each call
// to its process (IsolatedDevice).
#pragma once

#include "config/isolation_options.hpp"
#include "plugin/plugin_library.hpp"

#include <memory>
#include <optional>
#include <string>

namespace vmm {

// Why `plugin` cannot run isolated, or nothing when it can.
std::optional<std::string> why_not_isolatable(const PluginLibrary &plugin);

// The proxy for `plugin` (which why_not_isolatable accepted).
std::shared_ptr<PluginLibrary> isolated_plugin(std::shared_ptr<PluginLibrary> plugin);

struct DeviceWiring;

// Device `device` on `plugin`, isolated (the machine file's `isolate = true`
// or a swap's "isolate": true): the proxy, with how its process runs put in
// `wiring`. Throws InputError (without a location: the caller knows where
// it was asked for) naming why it cannot be.
std::shared_ptr<PluginLibrary> isolate_device(const std::string &device, std::shared_ptr<PluginLibrary> plugin,
                                              OnCrash on_crash, DeviceWiring &wiring);

} // namespace vmm
